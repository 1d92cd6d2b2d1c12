package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import io.synproxy.engine.FrameDescriptors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * DPDK set-up through the shim: EAL, virtual devices, mempools, ports. Not the fast path; every failure becomes a
 * {@link DpdkException} with DPDK's error text and a hint.
 */
public final class Dpdk {
    private static boolean initialised;
    private static List<String> ealArgs = List.of();

    private Dpdk() {
    }

    /** Checks the shim's ABI and the descriptor layout Java reads against the compiled shim. */
    public static void checkShim() {
        Shim.checkAbi(FrameDescriptors.shimLayout(Shim.STATS_COUNT));
    }

    /**
     * Initialises EAL once per process. rte_eal_init pins the calling thread to the main lcore, and threads it starts
     * inherit that mask, so it runs on a short-lived bootstrap thread: the JVM's own threads stay unpinned.
     */
    public static synchronized void initEal(final List<String> args) {
        if (initialised) {
            return;
        }
        checkShim();
        final int[] result = new int[2];
        final Thread bootstrap = new Thread(() -> {
            try (Arena arena = Arena.ofConfined()) {
                final List<String> argv = new ArrayList<>();
                argv.add("synproxy");
                argv.addAll(args);
                final MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, argv.size() + 1);
                for (int i = 0; i < argv.size(); i++) {
                    pointers.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(argv.get(i)));
                }
                result[0] = Shim.ealInit(argv.size(), pointers);
                result[1] = Shim.errno();
            }
        }, "eal-bootstrap");
        bootstrap.start();
        try {
            bootstrap.join();
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DpdkException("interrupted during EAL initialisation");
        }
        if (result[0] < 0) {
            throw new DpdkException("EAL initialisation failed: " + Shim.strerror(result[1]) + " (args " + args
                + "). Check the EAL arguments, that you are root, and that hugepages are mounted "
                + "(or pass --no-huge for tests)");
        }
        initialised = true;
        ealArgs = List.copyOf(args);
    }

    /** The arguments EAL runs with (the first {@link #initEal}'s; a later call's are ignored); empty before. */
    public static synchronized List<String> ealArgs() {
        return ealArgs;
    }

    /** Hot-plugs a virtual device and returns its port id. */
    public static int probe(final String devargs) {
        try (Arena arena = Arena.ofConfined()) {
            final int rc = Shim.devProbe(arena.allocateFrom(devargs));
            if (rc < 0) {
                throw new DpdkException("cannot probe device '" + devargs + "': " + Shim.strerror(rc)
                    + ". Check the driver name and its arguments (e.g. net_pcap0,rx_pcap=IN,tx_pcap=OUT)");
            }
            final String name = devargs.split(",", 2)[0];
            final int port = Shim.portByName(arena.allocateFrom(name));
            if (port < 0) {
                throw new DpdkException("device '" + name + "' has no port: " + Shim.strerror(port));
            }
            return port;
        }
    }

    /** A packet mempool on a NUMA socket (-1: any). */
    public static MemorySegment mempool(final String name, final int count, final int cache, final int dataRoom,
                                        final int socket) {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment pool = Shim.mempoolCreate(arena.allocateFrom(name), count, cache, dataRoom, socket);
            if (pool.equals(MemorySegment.NULL)) {
                throw new DpdkException("cannot create mempool '" + name + "' of " + count + " mbufs: "
                    + Shim.strerror(Shim.errno()) + ". Give EAL more memory (-m, hugepages) or use fewer mbufs");
            }
            return pool;
        }
    }

    /**
     * Configures and starts a port; with {@code txChecksum}, with the TX checksum offloads (IPv4 header, TCP) it
     * offers ({@link #txChecksum} says which it took).
     */
    public static void startPort(final int port, final int rxQueues, final int txQueues, final int descriptors,
                                 final MemorySegment pool, final boolean txChecksum) {
        check(Shim.portSetup(port, rxQueues, txQueues, descriptors, descriptors, pool, txChecksum), "configure port "
            + port + " with " + rxQueues + " rx and " + txQueues + " tx queues");
        check(Shim.portStart(port), "start port " + port);
    }

    /** The TX checksum offloads the port offers, as {@link Shim#TX_IP_CHECKSUM} and {@link Shim#TX_TCP_CHECKSUM}. */
    public static int txChecksumOffered(final int port) {
        final int offered = Shim.portTxChecksumOffered(port);
        check(offered, "read the TX offloads port " + port + " offers");
        return offered;
    }

    /** The TX checksum offloads the configured port has enabled (the same bits): what its frames may ask for. */
    public static int txChecksum(final int port) {
        final int enabled = Shim.portTxChecksum(port);
        check(enabled, "read the TX offloads of port " + port);
        return enabled;
    }

    /** TX checksum bits in words: "IPv4 header, TCP", or "none". */
    public static String describeTxChecksum(final int bits) {
        final List<String> names = new ArrayList<>();
        if ((bits & Shim.TX_IP_CHECKSUM) != 0) {
            names.add("IPv4 header");
        }
        if ((bits & Shim.TX_TCP_CHECKSUM) != 0) {
            names.add("TCP");
        }
        return names.isEmpty() ? "none" : String.join(", ", names);
    }

    public static void stopPort(final int port) {
        check(Shim.portStop(port), "stop port " + port);
        check(Shim.portClose(port), "close port " + port);
    }

    /** The port's MAC address, as the low 48 bits of a long. */
    public static long mac(final int port) {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment out = arena.allocate(6);
            check(Shim.portMac(port, out), "read the MAC address of port " + port);
            long mac = 0;
            for (int i = 0; i < 6; i++) {
                mac = (mac << 8) | (out.get(ValueLayout.JAVA_BYTE, i) & 0xff);
            }
            return mac;
        }
    }

    /** The port's counters, {@link Shim#STATS_COUNT} of them. */
    public static long[] stats(final int port) {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG, Shim.STATS_COUNT);
            check(Shim.portStats(port, out), "read the counters of port " + port);
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    private static void check(final int rc, final String what) {
        if (rc < 0) {
            throw new DpdkException("cannot " + what + ": " + Shim.strerror(rc));
        }
    }
}
