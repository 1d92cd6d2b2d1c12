package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Copies each port's own counters (packets, bytes, misses, mbuf allocation failures) into the counters file once a
 * second, on the control thread: `stat` shows them beside the workers'.
 */
final class PortStatsAgent implements Agent {
    private static final String[] NAMES = {"rx-packets", "tx-packets", "rx-bytes", "tx-bytes", "rx-missed",
        "rx-errors", "tx-errors", "rx-mbuf-alloc-failed"};
    private static final long PERIOD_NANOS = 1_000_000_000L;

    private final int[] ports;
    private final List<AtomicCounter[]> counters = new ArrayList<>();
    private long lastNanos;

    PortStatsAgent(final Map<String, Integer> portIds, final StatsFile file) {
        ports = portIds.values().stream().mapToInt(Integer::intValue).toArray();
        for (final String name : portIds.keySet()) {
            final AtomicCounter[] perPort = new AtomicCounter[Shim.STATS_COUNT];
            for (int i = 0; i < perPort.length; i++) {
                perPort[i] = file.newCounter("port-" + name + " " + NAMES[i]);
            }
            counters.add(perPort);
        }
    }

    /** Counters it adds to the file: one set per port. */
    static int countersPerPort() {
        return Shim.STATS_COUNT;
    }

    @Override
    public int doWork() {
        final long now = System.nanoTime();
        if (now - lastNanos < PERIOD_NANOS) {
            return 0;
        }
        lastNanos = now;
        publish();
        return 1;
    }

    void publish() {
        for (int p = 0; p < ports.length; p++) {
            final long[] values = Dpdk.stats(ports[p]);
            final AtomicCounter[] perPort = counters.get(p);
            for (int i = 0; i < perPort.length; i++) {
                perPort[i].setRelease(values[i]);
            }
        }
    }

    @Override
    public void onClose() {
        publish();
    }

    @Override
    public String roleName() {
        return "port-stats";
    }
}
