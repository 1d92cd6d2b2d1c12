package io.synproxy.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.synproxy.config.Metrics;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Serves {@code /metrics} for Prometheus from the counters ({@link CounterCollector}) on one thread of its own. It
 * never runs on a worker's core: threads started after the data plane restricted the process's affinity inherit a
 * mask without the workers' cores (see DataPlane). {@link #listen} moves it to a new address (a reload).
 */
public final class MetricsServer implements AutoCloseable {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private HTTPServer server;
    private ExecutorService executor;
    private Metrics listening;

    public MetricsServer(final CounterCollector collector) {
        registry.register(collector);
    }

    /**
     * Serves on {@code where} (null: stops serving). Unchanged: nothing happens. Throws with the reason when the
     * address cannot be bound; the previous server then keeps serving.
     */
    public synchronized void listen(final Metrics where) throws IOException {
        if (java.util.Objects.equals(where, listening)) {
            return;
        }
        HTTPServer next = null;
        ExecutorService nextExecutor = null;
        if (where != null) {
            nextExecutor = Executors.newSingleThreadExecutor(r -> {
                final Thread t = new Thread(r, "metrics");
                t.setDaemon(true);
                return t;
            });
            try {
                next = HTTPServer.builder().hostname(where.host()).port(where.port()).registry(registry)
                    .executorService(nextExecutor).buildAndStart();
            } catch (final IOException | RuntimeException e) {
                nextExecutor.shutdownNow();
                throw new IOException("[metrics] listen = \"" + where + "\": cannot serve there (" + e + "); "
                    + "allowed: an address of this host and a free port", e);
            }
        }
        stop();
        server = next;
        executor = nextExecutor;
        listening = where;
    }

    /** Where it serves now, or null. */
    public synchronized Metrics listening() {
        return listening;
    }

    private void stop() {
        if (server != null) {
            server.close();
            executor.shutdownNow();
            server = null;
            executor = null;
        }
    }

    @Override
    public synchronized void close() {
        stop();
        listening = null;
    }
}
