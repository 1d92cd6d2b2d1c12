package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Copies each port's own counters (packets, bytes, misses, mbuf allocation failures), its link state and the
 * mempools' free mbufs into the counters file once a second, on the control thread: `stat` shows them beside the
 * workers'. Each port's TX checksum offloads in use (1 or 0 for the IPv4 header's and TCP's, set at start: they
 * change only with a restart) are shown the same way. A link that goes down or comes back is counted
 * ({@code link-changes}) and said on the log; the workers keep polling either way, and the node counts as unhealthy
 * while a port is down (its VIPs are withdrawn).
 */
final class PortStatsAgent implements Agent {
    private static final String[] NAMES = {"rx-packets", "tx-packets", "rx-bytes", "tx-bytes", "rx-missed",
        "rx-errors", "tx-errors", "rx-mbuf-alloc-failed"};
    private static final long PERIOD_NANOS = 1_000_000_000L;

    private final int[] ports;
    private final String[] names;
    private final List<AtomicCounter[]> counters = new ArrayList<>();
    private final AtomicCounter[] linkUp;
    private final AtomicCounter[] linkChanges;
    private final int[] lastLink;
    private final List<java.lang.foreign.MemorySegment> pools;
    private final AtomicCounter[] poolAvailable;
    private long lastNanos;

    private final PortLink[] links;

    PortStatsAgent(final Map<String, Integer> portIds, final Map<String, PortLink> links,
                   final Map<String, Integer> txChecksum, final List<java.lang.foreign.MemorySegment> pools,
                   final StatsFile file) {
        this.links = portIds.keySet().stream().map(links::get).toArray(PortLink[]::new);
        ports = portIds.values().stream().mapToInt(Integer::intValue).toArray();
        names = portIds.keySet().toArray(new String[0]);
        linkUp = new AtomicCounter[ports.length];
        linkChanges = new AtomicCounter[ports.length];
        lastLink = new int[ports.length];
        int p = 0;
        for (final String name : portIds.keySet()) {
            final AtomicCounter[] perPort = new AtomicCounter[Shim.STATS_COUNT];
            for (int i = 0; i < perPort.length; i++) {
                perPort[i] = file.newCounter("port-" + name + " " + NAMES[i]);
            }
            counters.add(perPort);
            linkUp[p] = file.newCounter("port-" + name + " link-up");
            linkChanges[p] = file.newCounter("port-" + name + " link-changes");
            final int offloads = txChecksum.getOrDefault(name, 0);
            file.newCounter("port-" + name + " tx-offload-ip-checksum")
                .setRelease((offloads & Shim.TX_IP_CHECKSUM) != 0 ? 1 : 0);
            file.newCounter("port-" + name + " tx-offload-tcp-checksum")
                .setRelease((offloads & Shim.TX_TCP_CHECKSUM) != 0 ? 1 : 0);
            lastLink[p++] = -1;
        }
        this.pools = List.copyOf(pools);
        poolAvailable = new AtomicCounter[pools.size()];
        for (int i = 0; i < poolAvailable.length; i++) {
            poolAvailable[i] = file.newCounter("pool-" + i + " mbufs-free");
        }
    }

    /** Counters it adds to the file: one set per port (and one per pool, {@link #countersPerPool}). */
    static int countersPerPort() {
        return Shim.STATS_COUNT + 4;
    }

    static int countersPerPool() {
        return 1;
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
        for (int i = 0; i < poolAvailable.length; i++) {
            poolAvailable[i].setRelease(Integer.toUnsignedLong(Shim.mempoolAvailable(pools.get(i))));
        }
        for (int p = 0; p < ports.length; p++) {
            final int up = links[p].up() ? 1 : 0;
            if (up != lastLink[p]) {
                if (lastLink[p] >= 0) {
                    linkChanges[p].increment();
                    System.out.println("port " + names[p] + ": link " + (up == 1 ? "up" : "down"));
                }
                lastLink[p] = up;
                linkUp[p].setRelease(up);
            }
        }
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
