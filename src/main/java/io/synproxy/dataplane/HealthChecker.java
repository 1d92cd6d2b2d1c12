package io.synproxy.dataplane;

import io.synproxy.config.ProxyConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Health checks ([health]): every interval, a TCP connect (or an HTTP GET answered 2xx/3xx) to each configured
 * backend's address, through the host's kernel (its routes: the exception path on a fleet node), never from a worker
 * core. {@code fall} failures in a row take a backend out of the Maglev table, {@code rise} successes bring it back;
 * each change rebuilds the table through the control thread, so the flows that move are chained to their previous
 * owner (a backend that fails its check but still serves keeps its connections; one that really died loses only its
 * own). State per backend in the counters file: {@code backend-ADDR healthy} (1/0).
 */
final class HealthChecker implements AutoCloseable {
    private final BackendDirector director;
    private final Runnable rebuild;
    private final PrintStream log;
    private final StatsFile stats;
    private final Map<String, int[]> streaks = new HashMap<>();
    private final Map<String, AtomicCounter> published = new HashMap<>();
    private final ExecutorService checks = Executors.newVirtualThreadPerTaskExecutor();
    private final Thread thread;
    private volatile boolean running = true;

    HealthChecker(final BackendDirector director, final Runnable rebuild, final StatsFile stats,
                  final PrintStream log) {
        this.director = director;
        this.rebuild = rebuild;
        this.stats = stats;
        this.log = log;
        this.thread = new Thread(this::loop, "health");
        this.thread.setDaemon(true);
    }

    HealthChecker start() {
        thread.start();
        return this;
    }

    /**
     * Checks start this long after the proxy: its host path (the kernel's neighbours, the routes through the exception
     * path) is ready within it, and a check that fails before then says nothing about the backend.
     */
    static final long START_GRACE_MILLIS = 3000;

    private void loop() {
        try {
            Thread.sleep(START_GRACE_MILLIS);
        } catch (final InterruptedException e) {
            return;
        }
        while (running) {
            final ProxyConfig config = director.config();
            final ProxyConfig.Health health = config.changes().health();
            final long started = System.nanoTime();
            if (health != null) {
                round(config.backends(), health);
            }
            final long interval = health == null ? 1000 : health.intervalMillis();
            final long left = interval - (System.nanoTime() - started) / 1_000_000;
            try {
                Thread.sleep(Math.max(1, left));
            } catch (final InterruptedException e) {
                return;
            }
        }
    }

    private void round(final List<ProxyConfig.Backend> backends, final ProxyConfig.Health health) {
        final Map<String, Future<String>> results = new HashMap<>();
        for (final ProxyConfig.Backend backend : backends) {
            results.put(backend.address().text(), checks.submit(() -> check(backend, health)));
        }
        boolean changed = false;
        for (final Map.Entry<String, Future<String>> result : results.entrySet()) {
            String failure;
            try {
                failure = result.getValue().get(health.timeoutMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (final Exception e) {
                failure = "no answer in time";
            }
            changed |= record(result.getKey(), failure, health);
        }
        streaks.keySet().retainAll(results.keySet());
        if (changed) {
            rebuild.run();
        }
    }

    /** Counts the streak; true when the backend's state flips. */
    private boolean record(final String address, final String failure, final ProxyConfig.Health health) {
        final int[] streak = streaks.computeIfAbsent(address, a -> new int[2]);
        final boolean healthy = director.isHealthy(address);
        if (failure == null) {
            streak[0]++;
            streak[1] = 0;
        } else {
            streak[1]++;
            streak[0] = 0;
        }
        boolean flipped = false;
        if (healthy && streak[1] >= health.fall()) {
            flipped = director.setHealthy(address, false);
            log.println("health: backend " + address + " is down after " + streak[1] + " failed checks (" + failure
                + "): out of the table");
        } else if (!healthy && streak[0] >= health.rise()) {
            flipped = director.setHealthy(address, true);
            log.println("health: backend " + address + " is up again after " + streak[0] + " good checks: back in "
                + "the table");
        }
        published.computeIfAbsent(address, a -> stats.newCounter("backend-" + a + " healthy"))
            .setRelease(director.isHealthy(address) ? 1 : 0);
        return flipped;
    }

    /** One check; null when it passed, else why not. */
    private static String check(final ProxyConfig.Backend backend, final ProxyConfig.Health health) {
        final int timeout = (int) health.timeoutMillis();
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(backend.address().inetAddress(), health.port()), timeout);
            if (!health.http()) {
                return null;
            }
            socket.setSoTimeout(timeout);
            final String host = backend.address().v6() ? "[" + backend.address().text() + "]"
                : backend.address().text();
            final OutputStream out = socket.getOutputStream();
            out.write(("GET " + health.path() + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: synproxy-health\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            final InputStream in = socket.getInputStream();
            final byte[] status = in.readNBytes(12);
            final String line = new String(status, StandardCharsets.US_ASCII);
            if (line.length() == 12 && line.startsWith("HTTP/1.") && (line.charAt(9) == '2' || line.charAt(9) == '3')) {
                return null;
            }
            return "HTTP status '" + line.strip() + "'";
        } catch (final IOException e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        checks.shutdownNow();
    }
}
