package io.synproxy.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.synproxy.config.Dataplane;
import io.synproxy.dataplane.PortWorker;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.agrona.concurrent.status.CountersReader;

/**
 * The counters file as Prometheus metrics, read at each scrape: the workers, ports, pools, exception path, backends
 * and control thread already publish every value there (single writer each, ordered stores), so a scrape costs a
 * worker nothing. Labels in the file ("WORKER COUNTER", "port-P COUNTER", "host-P COUNTER", "pool-N COUNTER",
 * "backend-ADDR COUNTER", "control COUNTER") become metric names and labels:
 *
 * <pre>
 *   synproxy_worker_*_total{worker,port,queue}      every engine counter (drops: synproxy_worker_dropped_total{reason})
 *   synproxy_worker_busy_seconds_total, _idle_...    the core's time that found frames and that did not
 *   synproxy_worker_load_ratio                       busy share over the last ~100 ms or more
 *   synproxy_worker_burst_service_seconds            histogram: burst arrival to last frame handed to TX
 *   synproxy_port_*_total{port}, synproxy_port_link_up{port}, synproxy_port_tx_offload_{ip,tcp}_checksum{port}
 *   synproxy_mbufs_free{pool}
 *   synproxy_host_path_*_total{port}                 the exception path (frames to and from the host's kernel)
 *   synproxy_backend_{healthy,member,draining,chained_slots}{backend}, synproxy_backends_{configured,healthy}
 *   synproxy_salt_epoch, synproxy_salt_next_rotation_seconds
 *   synproxy_config_generation, synproxy_reloads_total, synproxy_reloads_refused_total
 *   synproxy_build_info{version,dpdk}
 * </pre>
 */
public final class CounterCollector implements MultiCollector {
    private static final String PREFIX = "synproxy_";

    private final CountersReader reader;
    private final Map<String, Labels> workers = new HashMap<>();
    private final String version;
    private final String dpdk;
    private final LongSupplier clockMillis;

    public CounterCollector(final CountersReader reader, final Dataplane dataplane, final String version,
                            final String dpdk, final LongSupplier clockMillis) {
        this.reader = reader;
        for (final Dataplane.Worker w : dataplane.workers()) {
            workers.put(w.name(), Labels.of("worker", w.name(), "port", w.port(), "queue",
                Integer.toString(w.queue())));
        }
        this.version = version;
        this.dpdk = dpdk;
        this.clockMillis = clockMillis;
    }

    /** One family being gathered: its kind, help and points. */
    private static final class Family {
        final String kind;
        final String help;
        final List<Object> points = new ArrayList<>();

        Family(final String kind, final String help) {
            this.kind = kind;
            this.help = help;
        }
    }

    /** The histogram of one worker, gathered from its bucket counters. */
    private static final class Burst {
        final long[] buckets = new long[PortWorker.BURST_BUCKETS];
        long sumNanos;
    }

    @Override
    public MetricSnapshots collect() {
        final Map<String, Family> families = new LinkedHashMap<>();
        final Map<String, Burst> bursts = new LinkedHashMap<>();
        reader.forEach((id, type, key, label) -> {
            final int space = label.indexOf(' ');
            if (space <= 0) {
                return;
            }
            final String owner = label.substring(0, space);
            final String name = label.substring(space + 1);
            final long value = reader.getCounterValue(id);
            final Labels worker = workers.get(owner);
            if (worker != null) {
                worker(families, bursts, owner, worker, name, value);
            } else if (owner.startsWith("port-")) {
                final Labels port = Labels.of("port", owner.substring(5));
                if (name.equals("link-up")) {
                    gauge(families, "port_link_up", "1 while the port's link is up", port, value);
                } else if (name.startsWith("tx-offload-")) {
                    gauge(families, "port_" + snake(name), "1 when the port computes the "
                        + (name.endsWith("ip-checksum") ? "IPv4 header" : "TCP") + " checksums synproxy sends "
                        + "(TX checksum offload)", port, value);
                } else {
                    counter(families, "port_" + snake(name), "The port's own counter " + name
                        + " (rte_eth_stats)", port, value);
                }
            } else if (owner.startsWith("pool-")) {
                gauge(families, "mbufs_free", "Free mbufs in the pool (per-core caches included)",
                    Labels.of("pool", owner.substring(5)), value);
            } else if (owner.startsWith("host-")) {
                counter(families, "host_path_" + snake(name), "Exception path: " + name.replace('-', ' '),
                    Labels.of("port", owner.substring(5)), value);
            } else if (owner.startsWith("backend-")) {
                final Labels backend = Labels.of("backend", owner.substring(8));
                gauge(families, "backend_" + snake(name), backendHelp(name), backend, value);
            } else if (owner.equals("control")) {
                control(families, name, value);
            }
        });
        for (final Map.Entry<String, Burst> e : bursts.entrySet()) {
            final double[] bounds = new double[PortWorker.BURST_BUCKETS];
            for (int i = 0; i < bounds.length - 1; i++) {
                bounds[i] = (1L << (PortWorker.BURST_BUCKET_SHIFT + i)) / 1e9;
            }
            bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
            family(families, "worker_burst_service_seconds", "histogram", "Burst service time: from the burst's "
                + "arrival to its last frame handed to TX").points.add(HistogramSnapshot.HistogramDataPointSnapshot
                .builder().classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, e.getValue().buckets))
                .sum(e.getValue().sumNanos / 1e9).labels(workers.get(e.getKey())).build());
        }
        final List<MetricSnapshot> out = new ArrayList<>();
        for (final Map.Entry<String, Family> e : families.entrySet()) {
            out.add(snapshot(PREFIX + e.getKey(), e.getValue()));
        }
        out.add(InfoSnapshot.builder().name(PREFIX + "build").help("The running synproxy: its version and the DPDK "
            + "it was built for").dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder().labels(Labels.of("version",
            version, "dpdk", dpdk)).build()).build());
        return new MetricSnapshots(out);
    }

    private void worker(final Map<String, Family> families, final Map<String, Burst> bursts, final String owner,
                        final Labels labels, final String name, final long value) {
        if (name.startsWith("drop-")) {
            counter(families, "worker_dropped", "Frames dropped, by reason", labels.add("reason",
                snake(name.substring(5))), value);
        } else if (name.equals("dropped")) {
            return; // the sum of the reasons above
        } else if (name.equals("busy-ns")) {
            counter(families, "worker_busy_seconds", "Time the worker's core spent on polls that found frames",
                labels, value / 1e9);
        } else if (name.equals("idle-ns")) {
            counter(families, "worker_idle_seconds", "Time the worker's core spent on polls that found nothing",
                labels, value / 1e9);
        } else if (name.equals("load-permille")) {
            gauge(families, "worker_load_ratio", "Share of the core's time spent on polls that found frames, over "
                + "the last 100 ms or more (a busy-polling core shows 100% in top whatever its load)", labels,
                value / 1000.0);
        } else if (name.startsWith("burst-le-")) {
            final Burst burst = bursts.computeIfAbsent(owner, o -> new Burst());
            for (int i = 0; i < PortWorker.BURST_BUCKETS; i++) {
                if (PortWorker.burstBucketLabel(i).equals(name)) {
                    burst.buckets[i] = value;
                    break;
                }
            }
        } else if (name.equals("burst-ns-sum")) {
            bursts.computeIfAbsent(owner, o -> new Burst()).sumNanos = value;
        } else if (name.equals("tx-dropped")) {
            counter(families, "worker_tx_refused", "Frames a port's TX ring refused (freed)", labels, value);
        } else {
            counter(families, "worker_" + snake(name), "The engine's counter " + name, labels, value);
        }
    }

    private void control(final Map<String, Family> families, final String name, final long value) {
        switch (name) {
            case "salt-epoch" -> gauge(families, "salt_epoch", "The salt epoch the cookies are issued under",
                Labels.EMPTY, value);
            case "salt-next-change-ms" -> gauge(families, "salt_next_rotation_seconds", "Seconds until the next "
                + "salt change (a new epoch, or the end of the previous one's grace)", Labels.EMPTY,
                Math.max(0, value - clockMillis.getAsLong()) / 1000.0);
            case "config-generation" -> gauge(families, "config_generation", "Configurations applied: 1 at start, "
                + "one more per accepted reload", Labels.EMPTY, value);
            case "reloads" -> counter(families, "reloads", "Reloads applied", Labels.EMPTY, value);
            case "reloads-refused" -> counter(families, "reloads_refused", "Reloads refused (the running "
                + "configuration stayed; `synproxy errors` says why)", Labels.EMPTY, value);
            case "backends-configured" -> gauge(families, "backends_configured", "Backends in the configuration",
                Labels.EMPTY, value);
            case "backends-healthy" -> gauge(families, "backends_healthy", "Configured backends passing their "
                + "health checks (all of them without [health])", Labels.EMPTY, value);
            default -> gauge(families, "control_" + snake(name), "The control thread's " + name, Labels.EMPTY,
                value);
        }
    }

    private static String backendHelp(final String name) {
        return switch (name) {
            case "healthy" -> "1 while the backend passes its health checks";
            case "member" -> "1 while the backend owns Maglev slots (takes new connections)";
            case "draining" -> "1 while the backend is draining";
            case "chained-slots" -> "Maglev slots that still name the backend as their previous owner";
            default -> "The backend's " + name;
        };
    }

    private static String snake(final String name) {
        return name.replace('-', '_');
    }

    private static Family family(final Map<String, Family> families, final String name, final String kind,
                                 final String help) {
        return families.computeIfAbsent(name, n -> new Family(kind, help));
    }

    private static void counter(final Map<String, Family> families, final String name, final String help,
                                final Labels labels, final double value) {
        family(families, name, "counter", help).points.add(CounterSnapshot.CounterDataPointSnapshot.builder()
            .value(value).labels(labels).build());
    }

    private static void gauge(final Map<String, Family> families, final String name, final String help,
                              final Labels labels, final double value) {
        family(families, name, "gauge", help).points.add(GaugeSnapshot.GaugeDataPointSnapshot.builder()
            .value(value).labels(labels).build());
    }

    private static MetricSnapshot snapshot(final String name, final Family f) {
        return switch (f.kind) {
            case "counter" -> {
                final CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(f.help);
                f.points.forEach(p -> b.dataPoint((CounterSnapshot.CounterDataPointSnapshot) p));
                yield b.build();
            }
            case "gauge" -> {
                final GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(f.help);
                f.points.forEach(p -> b.dataPoint((GaugeSnapshot.GaugeDataPointSnapshot) p));
                yield b.build();
            }
            default -> {
                final HistogramSnapshot.Builder b = HistogramSnapshot.builder().name(name).help(f.help);
                f.points.forEach(p -> b.dataPoint((HistogramSnapshot.HistogramDataPointSnapshot) p));
                yield b.build();
            }
        };
    }
}
