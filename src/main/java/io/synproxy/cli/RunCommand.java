package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.dataplane.DataPlane;
import io.synproxy.dataplane.DpdkException;
import io.synproxy.dataplane.SaltWatchdog;
import io.synproxy.engine.EngineCounters;
import io.synproxy.engine.ProxyKeys;
import io.synproxy.packet.Bytes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Run the proxy: EAL, ports, pinned workers and the control thread as the configuration says, "
        + "until SIGINT or SIGTERM (or --duration). Counters go to dataplane.stats_file: watch them with `stat`."})
final class RunCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The configuration file (TOML).")
    Path config;

    @Option(names = "--duration", defaultValue = "0",
        description = "Stop after this many seconds (0, the default: run until a signal).")
    long duration;

    @Option(names = "--warmup", defaultValue = "0",
        description = "Seconds after which the measured window starts: burst times, GC and allocation are reported "
            + "for what follows (the JIT has compiled the loop by then).")
    long warmup;

    @Override
    public Integer call() {
        final ProxyConfig loaded;
        final ProxyKeys keys;
        try {
            loaded = ProxyConfig.load(config);
            keys = ProxyKeys.load(loaded);
        } catch (final ConfigException | IOException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
        if (loaded.dataplane() == null) {
            System.err.println("synproxy: " + config + ": [dataplane], [[port]] and [[worker]] are needed to run; "
                + "see config/synproxy.toml");
            return 2;
        }
        System.out.print(loaded.describe());
        final CountDownLatch stop = new CountDownLatch(1);
        final CountDownLatch drain = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        // SIGTERM (systemd's stop, `synproxy drain`) drains first; a second one, or SIGINT, stops at once.
        Signal.handle(new Signal("TERM"), s -> {
            if (drain.getCount() == 0) {
                stop.countDown();
            }
            drain.countDown();
        });
        try (DataPlane plane = DataPlane.start(loaded, keys)) {
            Signal.handle(new Signal("HUP"), s -> plane.control().requestReload());
            System.out.println("running: " + plane.workers().size() + " worker(s); counters in "
                + loaded.dataplane().statsFile() + "; reload backends with SIGHUP; stop with Ctrl-C"
                + (Bytes.SEGMENT_CHECKS ? "" : "; packet path without segment checks"));
            final RunReport report = new RunReport(plane);
            if (warmup > 0 && !stop.await(warmup, TimeUnit.SECONDS)) {
                report.startWindow();
            }
            // The main thread watches the workers' salts while it waits: a stalled control thread is reported here.
            final SaltWatchdog watchdog = plane.saltWatchdog(System.err);
            final long until = duration > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(0,
                duration - warmup)) : Long.MAX_VALUE;
            long stopAt = until;
            boolean draining = false;
            while (!stop.await(Math.min(200_000_000L, Math.max(0, stopAt - System.nanoTime())),
                TimeUnit.NANOSECONDS) && System.nanoTime() < stopAt) {
                watchdog.check();
                if (!draining && drain.getCount() == 0) {
                    draining = true;
                    if (plane.drain()) {
                        final int seconds = loaded.dataplane().drainSeconds();
                        System.out.println("draining: VIP routes withdrawn; serving " + seconds + " s more");
                        stopAt = Math.min(stopAt, System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds));
                    } else {
                        stopAt = System.nanoTime();
                    }
                }
            }
            report.endWindow();
            System.out.println("stopping");
            plane.close();
            System.out.printf("stopped: %d frames received, %d SYN-ACKs, %d encapsulated, %d dropped%n",
                plane.total(EngineCounters.FRAMES_RECEIVED), plane.total(EngineCounters.SYN_ACKS_SENT),
                plane.total(EngineCounters.ENCAPSULATED), plane.total(EngineCounters.DROPPED));
            report.print();
            io.synproxy.bindings.Shim.ealCleanup();
            return 0;
        } catch (final DpdkException | IllegalStateException | IllegalArgumentException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 1;
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
