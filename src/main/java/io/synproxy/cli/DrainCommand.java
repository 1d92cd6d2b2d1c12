package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.dataplane.StatsFile;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "drain", mixinStandardHelpOptions = true,
    description = {"Drain the running proxy of this configuration: it withdraws its VIP routes (the BGP daemon stops "
        + "announcing them), keeps serving for dataplane.drain_seconds, then stops. The same as sending it SIGTERM; "
        + "the process is found through its counters file."})
final class DrainCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The configuration file (TOML).")
    Path config;

    @Option(names = "--wait", description = "Wait until the proxy has stopped.")
    boolean await;

    @Override
    public Integer call() throws InterruptedException {
        final ProxyConfig loaded;
        try {
            loaded = ProxyConfig.load(config);
        } catch (final ConfigException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
        if (loaded.dataplane() == null) {
            System.err.println("synproxy: " + config + ": no [dataplane] section, so no running proxy to drain");
            return 2;
        }
        final long pid;
        try {
            pid = StatsFile.writerPid(loaded.dataplane().statsFile());
        } catch (final RuntimeException e) {
            System.err.println("synproxy: no running proxy found through " + loaded.dataplane().statsFile() + ": "
                + e.getMessage());
            return 1;
        }
        final Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            System.err.println("synproxy: the proxy that wrote " + loaded.dataplane().statsFile() + " (pid " + pid
                + ") is not running");
            return 1;
        }
        // ProcessHandle.destroy is SIGTERM on Linux: the proxy's own drain.
        if (!process.get().destroy()) {
            System.err.println("synproxy: cannot signal pid " + pid);
            return 1;
        }
        System.out.println("drain: signalled pid " + pid + "; it withdraws its VIPs, serves "
            + loaded.dataplane().drainSeconds() + " s more, then stops");
        if (await) {
            process.get().onExit().join();
            System.out.println("drain: pid " + pid + " stopped");
        }
        return 0;
    }
}
