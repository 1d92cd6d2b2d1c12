package io.synproxy.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * FFM bindings of the DPDK shim ({@code native/shim/sp_shim.h}), in jextract's shape: one {@code static final
 * MethodHandle} per function, called with {@code invokeExact}. Kept by hand (jextract is not packaged here);
 * {@link #checkAbi} compares them with the compiled shim at start-up, and a test does the same, so they cannot drift.
 *
 * <p>The burst calls are {@link Linker.Option#critical critical}: no thread-state transition, since they neither block
 * nor call back into Java. The shim is found at the path in the system property {@code synproxy.shim}, or at
 * {@code target/native/libsynproxy_shim.so} (the build's output).
 */
public final class Shim {
    /** The sp_shim.h ABI these bindings were written for. */
    public static final int ABI_VERSION = 4;

    public static final int LAYOUT_FRAME_SIZE = 0;
    public static final int LAYOUT_FRAME_ADDRESS = 1;
    public static final int LAYOUT_FRAME_LENGTH = 2;
    public static final int LAYOUT_FRAME_HEADROOM = 3;
    public static final int LAYOUT_FRAME_TAILROOM = 4;
    public static final int LAYOUT_FRAME_RSS_HASH = 5;
    public static final int LAYOUT_FRAME_RX_FLAGS = 6;
    public static final int LAYOUT_FRAME_VERDICT = 7;
    public static final int LAYOUT_FRAME_REASON = 8;
    public static final int LAYOUT_FRAME_MBUF = 9;
    public static final int LAYOUT_STATS_COUNT = 10;
    public static final int LAYOUT_FRAME_TX_OFFLOAD = 11;
    public static final int LAYOUT_TX_IP_CHECKSUM = 12;
    public static final int LAYOUT_TX_TCP_CHECKSUM = 13;
    public static final int LAYOUT_TX_IPV6 = 14;
    public static final int LAYOUT_TX_L2_SHIFT = 15;
    public static final int LAYOUT_TX_L3_SHIFT = 16;
    public static final int LAYOUT_TX_L4_SHIFT = 17;

    /** sp_port_tx_checksum's bits: the port computes the IPv4 header checksum, the TCP checksum. */
    public static final int TX_IP_CHECKSUM = 1;
    public static final int TX_TCP_CHECKSUM = 2;

    public static final int STATS_IPACKETS = 0;
    public static final int STATS_OPACKETS = 1;
    public static final int STATS_IBYTES = 2;
    public static final int STATS_OBYTES = 3;
    public static final int STATS_IMISSED = 4;
    public static final int STATS_IERRORS = 5;
    public static final int STATS_OERRORS = 6;
    public static final int STATS_RX_NOMBUF = 7;
    public static final int STATS_COUNT = 8;

    public static final Path LIBRARY = Path.of(System.getProperty("synproxy.shim",
        "target/native/libsynproxy_shim.so"));

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = lookup();
    private static final Linker.Option CRITICAL = Linker.Option.critical(false);

    private static final MethodHandle SP_ABI_VERSION = downcall("sp_abi_version", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SP_LAYOUT = downcall("sp_layout", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    private static final MethodHandle SP_EAL_INIT = downcall("sp_eal_init",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle SP_EAL_CLEANUP = downcall("sp_eal_cleanup", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SP_ERRNO = downcall("sp_errno", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SP_STRERROR = downcall("sp_strerror",
        FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle SP_DEV_PROBE = downcall("sp_dev_probe",
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SP_PORT_BY_NAME = downcall("sp_port_by_name",
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SP_PORT_COUNT = downcall("sp_port_count", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SP_PORT_SOCKET = downcall("sp_port_socket",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_MAC = downcall("sp_port_mac",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS));
    private static final MethodHandle SP_MEMPOOL_CREATE = downcall("sp_mempool_create",
        FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_SHORT, JAVA_INT));
    private static final MethodHandle SP_MEMPOOL_FREE = downcall("sp_mempool_free",
        FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle SP_MEMPOOL_AVAILABLE = downcall("sp_mempool_available",
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SP_RING_LOOKUP = downcall("sp_ring_lookup",
        FunctionDescriptor.of(ADDRESS, ADDRESS));
    private static final MethodHandle SP_RING_DRAIN = downcall("sp_ring_drain",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SP_RING_COUNT = downcall("sp_ring_count",
        FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SP_PORT_SETUP = downcall("sp_port_setup",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, ADDRESS, JAVA_INT));
    private static final MethodHandle SP_PORT_TX_CHECKSUM_OFFERED = downcall("sp_port_tx_checksum_offered",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_TX_CHECKSUM = downcall("sp_port_tx_checksum",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_START = downcall("sp_port_start",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_STOP = downcall("sp_port_stop",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_CLOSE = downcall("sp_port_close",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_PROMISCUOUS = downcall("sp_port_promiscuous",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, JAVA_INT));
    private static final MethodHandle SP_PORT_LINK_UP = downcall("sp_port_link_up",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    private static final MethodHandle SP_PORT_STATS = downcall("sp_port_stats",
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS));
    private static final MethodHandle SP_RX_BURST = downcall("sp_rx_burst",
        FunctionDescriptor.of(JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, ADDRESS, JAVA_SHORT), CRITICAL);
    private static final MethodHandle SP_TX_BURST = downcall("sp_tx_burst",
        FunctionDescriptor.of(JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, ADDRESS, JAVA_SHORT), CRITICAL);
    private static final MethodHandle SP_FREE = downcall("sp_free",
        FunctionDescriptor.ofVoid(ADDRESS, JAVA_SHORT), CRITICAL);
    private static final MethodHandle SP_THREAD_REGISTER = downcall("sp_thread_register",
        FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SP_THREAD_PIN = downcall("sp_thread_pin",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SP_TELEMETRY_REGISTER = downcall("sp_telemetry_register",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SP_TELEMETRY_DETACH = downcall("sp_telemetry_detach",
        FunctionDescriptor.ofVoid());

    private Shim() {
    }

    private static SymbolLookup lookup() {
        if (!Files.isRegularFile(LIBRARY)) {
            throw new IllegalStateException("DPDK shim not found at " + LIBRARY.toAbsolutePath()
                + ": build it (mvn package, or make -C native/shim OUT=target/native) or set -Dsynproxy.shim=PATH");
        }
        return SymbolLookup.libraryLookup(LIBRARY, Arena.global());
    }

    private static MethodHandle downcall(final String name, final FunctionDescriptor descriptor,
                                         final Linker.Option... options) {
        final MemorySegment symbol = LOOKUP.find(name).orElseThrow(() -> new IllegalStateException(
            LIBRARY + " has no symbol " + name + ": the shim and these bindings are from different versions"));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static AssertionError failed(final Throwable t) {
        return new AssertionError("downcall failed", t);
    }

    public static int abiVersion() {
        try {
            return (int) SP_ABI_VERSION.invokeExact();
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static long layout(final int item) {
        try {
            return (long) SP_LAYOUT.invokeExact(item);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /**
     * Checks the compiled shim against these bindings and against the layout Java reads ({@code expected[i]} is the
     * value Java assumes for layout item i); throws with the first difference.
     */
    public static void checkAbi(final long... expected) {
        final int version = abiVersion();
        if (version != ABI_VERSION) {
            throw new IllegalStateException(LIBRARY + " has ABI version " + version + ", these bindings need "
                + ABI_VERSION + ": rebuild the shim and the Java code from the same checkout");
        }
        for (int item = 0; item < expected.length; item++) {
            final long actual = layout(item);
            if (actual != expected[item]) {
                throw new IllegalStateException(LIBRARY + ": layout item " + item + " is " + actual
                    + ", Java assumes " + expected[item] + ": rebuild the shim and the Java code together");
            }
        }
    }

    public static int ealInit(final int argc, final MemorySegment argv) {
        try {
            return (int) SP_EAL_INIT.invokeExact(argc, argv);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int ealCleanup() {
        try {
            return (int) SP_EAL_CLEANUP.invokeExact();
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int errno() {
        try {
            return (int) SP_ERRNO.invokeExact();
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /** DPDK's text for an error number (either sign). */
    /**
     * The DPDK the shim is linked with, as its rte_version() says (e.g. "DPDK 22.11.11"): found through the shim's
     * own library lookup, which searches the libraries it depends on.
     */
    public static String dpdkBuiltFor() {
        try {
            final MemorySegment text = (MemorySegment) LINKER.downcallHandle(LOOKUP.find("rte_version").orElseThrow(
                () -> new IllegalStateException(LIBRARY + " does not link DPDK's rte_version")),
                FunctionDescriptor.of(ADDRESS)).invokeExact();
            return text.reinterpret(256).getString(0);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static String strerror(final int error) {
        try {
            final MemorySegment text = (MemorySegment) SP_STRERROR.invokeExact(error);
            return text.reinterpret(4096).getString(0);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int devProbe(final MemorySegment devargs) {
        try {
            return (int) SP_DEV_PROBE.invokeExact(devargs);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portByName(final MemorySegment name) {
        try {
            return (int) SP_PORT_BY_NAME.invokeExact(name);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portCount() {
        try {
            return (int) SP_PORT_COUNT.invokeExact();
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portSocket(final int port) {
        try {
            return (int) SP_PORT_SOCKET.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portMac(final int port, final MemorySegment out) {
        try {
            return (int) SP_PORT_MAC.invokeExact((short) port, out);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static MemorySegment mempoolCreate(final MemorySegment name, final int count, final int cache,
                                              final int dataRoom, final int socket) {
        try {
            return (MemorySegment) SP_MEMPOOL_CREATE.invokeExact(name, count, cache, (short) dataRoom, socket);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static void mempoolFree(final MemorySegment pool) {
        try {
            SP_MEMPOOL_FREE.invokeExact(pool);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /** An rte_ring by name, or NULL (tests: the ring behind a net_ring port). */
    public static MemorySegment ringLookup(final MemorySegment name) {
        try {
            return (MemorySegment) SP_RING_LOOKUP.invokeExact(name);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /** Frees up to {@code max} mbufs waiting in the ring; returns how many. */
    public static int ringDrain(final MemorySegment ring, final int max) {
        try {
            return (int) SP_RING_DRAIN.invokeExact(ring, max);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int ringCount(final MemorySegment ring) {
        try {
            return (int) SP_RING_COUNT.invokeExact(ring);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int mempoolAvailable(final MemorySegment pool) {
        try {
            return (int) SP_MEMPOOL_AVAILABLE.invokeExact(pool);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /**
     * Configures a port's queues; with {@code txChecksum} it also enables the TX checksum offloads (IPv4 header, TCP)
     * the port offers. 0 or a negative errno.
     */
    public static int portSetup(final int port, final int rxQueues, final int txQueues, final int rxDescriptors,
                                final int txDescriptors, final MemorySegment pool, final boolean txChecksum) {
        try {
            return (int) SP_PORT_SETUP.invokeExact((short) port, (short) rxQueues, (short) txQueues,
                (short) rxDescriptors, (short) txDescriptors, pool, txChecksum ? 1 : 0);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /**
     * The TX checksum offloads the port offers ({@link #TX_IP_CHECKSUM}, {@link #TX_TCP_CHECKSUM}), or a negative
     * errno.
     */
    public static int portTxChecksumOffered(final int port) {
        try {
            return (int) SP_PORT_TX_CHECKSUM_OFFERED.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /** The TX checksum offloads the configured port has enabled (the same bits), or a negative errno. */
    public static int portTxChecksum(final int port) {
        try {
            return (int) SP_PORT_TX_CHECKSUM.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portStart(final int port) {
        try {
            return (int) SP_PORT_START.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portStop(final int port) {
        try {
            return (int) SP_PORT_STOP.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portClose(final int port) {
        try {
            return (int) SP_PORT_CLOSE.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portPromiscuous(final int port, final boolean on) {
        try {
            return (int) SP_PORT_PROMISCUOUS.invokeExact((short) port, on ? 1 : 0);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int portLinkUp(final int port) {
        try {
            return (int) SP_PORT_LINK_UP.invokeExact((short) port);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /** Fills {@code out} with {@link #STATS_COUNT} counters; 0 or a negative errno. */
    public static int portStats(final int port, final MemorySegment out) {
        try {
            return (int) SP_PORT_STATS.invokeExact((short) port, out);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int rxBurst(final int port, final int queue, final MemorySegment frames, final int max) {
        try {
            return (short) SP_RX_BURST.invokeExact((short) port, (short) queue, frames, (short) max) & 0xffff;
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int txBurst(final int port, final int queue, final MemorySegment frames, final int count) {
        try {
            return (short) SP_TX_BURST.invokeExact((short) port, (short) queue, frames, (short) count) & 0xffff;
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static void free(final MemorySegment frames, final int count) {
        try {
            SP_FREE.invokeExact(frames, (short) count);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int threadRegister() {
        try {
            return (int) SP_THREAD_REGISTER.invokeExact();
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    public static int threadPin(final int core) {
        try {
            return (int) SP_THREAD_PIN.invokeExact(core);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /**
     * Serves the counters in these two buffers (an Agrona CountersManager's metadata and values) through DPDK telemetry
     * as {@code /synproxy/counters} and {@code /synproxy/workers}; 0 or a negative errno. The buffers must stay mapped
     * until {@link #telemetryDetach}.
     */
    public static int telemetryRegister(final MemorySegment metadata, final int metadataLength,
                                        final MemorySegment values, final int valuesLength) {
        try {
            return (int) SP_TELEMETRY_REGISTER.invokeExact(metadata, metadataLength, values, valuesLength);
        } catch (final Throwable t) {
            throw failed(t);
        }
    }

    /** The telemetry commands answer empty from now on: their buffers may be unmapped. */
    public static void telemetryDetach() {
        try {
            SP_TELEMETRY_DETACH.invokeExact();
        } catch (final Throwable t) {
            throw failed(t);
        }
    }
}
