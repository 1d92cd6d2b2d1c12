package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.dataplane.StatsFile;
import io.synproxy.engine.ProxyKeys;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.agrona.concurrent.status.CountersReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "reload", mixinStandardHelpOptions = true,
    description = {"Reload the running proxy of this configuration (the same as SIGHUP): the file and its key files "
        + "are checked here first, then the proxy re-reads them and applies everything that needs no new port, "
        + "queue or core. Exits 0 once the proxy applied it, 1 if it refused (the reason is printed), 2 if the file "
        + "is invalid (nothing is sent)."})
final class ReloadCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The configuration file (TOML).")
    Path config;

    @Option(names = "--timeout", defaultValue = "10", description = "Seconds to wait for the proxy's answer.")
    long timeout;

    @Override
    public Integer call() throws InterruptedException, IOException {
        final ProxyConfig loaded;
        try {
            loaded = ProxyConfig.load(config);
            ProxyKeys.load(loaded);
        } catch (final ConfigException | IOException e) {
            System.err.println("synproxy reload: " + e.getMessage() + "; nothing sent");
            return 2;
        }
        if (loaded.dataplane() == null) {
            System.err.println("synproxy reload: " + config + ": no [dataplane] section, so no running proxy");
            return 2;
        }
        final Path stats = loaded.dataplane().statsFile();
        final long pid;
        final CountersReader reader;
        try {
            pid = StatsFile.writerPid(stats);
            reader = StatsFile.open(stats);
        } catch (final RuntimeException e) {
            System.err.println("synproxy reload: no running proxy found through " + stats + ": " + e.getMessage());
            return 1;
        }
        final Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            System.err.println("synproxy reload: the proxy that wrote " + stats + " (pid " + pid + ") is not running");
            return 1;
        }
        final long generation = counter(reader, "control config-generation");
        final long refused = counter(reader, "control reloads-refused");
        final Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(pid)).inheritIO().start();
        if (kill.waitFor() != 0) {
            System.err.println("synproxy reload: cannot signal pid " + pid);
            return 1;
        }
        final long deadline = System.nanoTime() + timeout * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            final long now = counter(reader, "control config-generation");
            if (now > generation) {
                System.out.println("reload: pid " + pid + " applied " + config + " (configuration " + now + ")");
                return 0;
            }
            if (counter(reader, "control reloads-refused") > refused) {
                System.err.println("synproxy reload: pid " + pid + " refused " + config + ": " + lastError(stats));
                return 1;
            }
            Thread.sleep(50);
        }
        System.err.println("synproxy reload: pid " + pid + " did not answer within " + timeout + " s");
        return 1;
    }

    private static long counter(final CountersReader reader, final String label) {
        final long[] value = {-1};
        reader.forEach((id, type, key, text) -> {
            if (text.equals(label)) {
                value[0] = reader.getCounterValue(id);
            }
        });
        return value[0];
    }

    /** The most recent error in the proxy's error log: a refused reload's reason. */
    private static String lastError(final Path stats) {
        final String[] latest = {"(see `synproxy errors`)"};
        final long[] at = {Long.MIN_VALUE};
        StatsFile.readErrors(stats, (count, first, last, encoded) -> {
            if (last >= at[0]) {
                at[0] = last;
                final String line = encoded.lines().findFirst().orElse(encoded);
                latest[0] = line.substring(line.indexOf(": ") + 2);
            }
        });
        return latest[0];
    }
}
