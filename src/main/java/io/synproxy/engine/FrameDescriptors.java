package io.synproxy.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The per-worker array of frame descriptors that carries a burst between the NIC side and the engine: the DPDK shim
 * fills one per received mbuf, the engine reads the frame through it and writes its verdict back. Java never reads an
 * {@code rte_mbuf}: only this flat, versioned layout, in native byte order.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Frame address (64 bits)          [in/out]     |  0
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Frame length                     [in/out]     |  8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Headroom          [in]    |     Tailroom          [in]    | 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 RSS hash (0: none)               [in]         | 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     RX flags          [in]    | Verdict [out] | Reason [out]  | 20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Buffer handle (the mbuf; opaque to Java)      | 24
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * Headroom and tailroom are the bytes the engine may write before the frame (to prepend the encapsulation) and after
 * it (to grow a SYN-ACK). An encapsulated frame comes back with a lower address and a new length.
 */
public final class FrameDescriptors {
    public static final int ADDRESS_OFFSET = 0;
    public static final int LENGTH_OFFSET = 8;
    public static final int HEADROOM_OFFSET = 12;
    public static final int TAILROOM_OFFSET = 14;
    public static final int RSS_HASH_OFFSET = 16;
    public static final int RX_FLAGS_OFFSET = 20;
    public static final int VERDICT_OFFSET = 22;
    public static final int REASON_OFFSET = 23;
    public static final int HANDLE_OFFSET = 24;
    public static final int SIZE = 32;

    /** The NIC verified the IPv4 header checksum. */
    public static final int RX_IP_CHECKSUM_GOOD = 1;
    /** The NIC verified the TCP checksum. */
    public static final int RX_L4_CHECKSUM_GOOD = 2;

    private static final ValueLayout.OfLong ADDRESS = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private FrameDescriptors() {
    }

    /** The layout items the DPDK shim reports (sp_layout), in its order, as Java assumes them. */
    public static long[] shimLayout(final int statsCount) {
        return new long[] {SIZE, ADDRESS_OFFSET, LENGTH_OFFSET, HEADROOM_OFFSET, TAILROOM_OFFSET, RSS_HASH_OFFSET,
            RX_FLAGS_OFFSET, VERDICT_OFFSET, REASON_OFFSET, HANDLE_OFFSET, statsCount};
    }

    public static long address(final MemorySegment descriptors, final int index) {
        return descriptors.get(ADDRESS, (long) index * SIZE + ADDRESS_OFFSET);
    }

    public static int length(final MemorySegment descriptors, final int index) {
        return descriptors.get(INT, (long) index * SIZE + LENGTH_OFFSET);
    }

    public static int headroom(final MemorySegment descriptors, final int index) {
        return descriptors.get(SHORT, (long) index * SIZE + HEADROOM_OFFSET) & 0xffff;
    }

    public static int tailroom(final MemorySegment descriptors, final int index) {
        return descriptors.get(SHORT, (long) index * SIZE + TAILROOM_OFFSET) & 0xffff;
    }

    public static int rxFlags(final MemorySegment descriptors, final int index) {
        return descriptors.get(SHORT, (long) index * SIZE + RX_FLAGS_OFFSET) & 0xffff;
    }

    public static int verdict(final MemorySegment descriptors, final int index) {
        return descriptors.get(ValueLayout.JAVA_BYTE, (long) index * SIZE + VERDICT_OFFSET);
    }

    public static int reason(final MemorySegment descriptors, final int index) {
        return descriptors.get(ValueLayout.JAVA_BYTE, (long) index * SIZE + REASON_OFFSET);
    }

    /** Sets the input fields of one descriptor (what the shim does for each received frame). */
    public static void setFrame(final MemorySegment descriptors, final int index, final long address,
                                final int length, final int headroom, final int tailroom, final int rxFlags) {
        final long at = (long) index * SIZE;
        descriptors.set(ADDRESS, at + ADDRESS_OFFSET, address);
        descriptors.set(INT, at + LENGTH_OFFSET, length);
        descriptors.set(SHORT, at + HEADROOM_OFFSET, (short) headroom);
        descriptors.set(SHORT, at + TAILROOM_OFFSET, (short) tailroom);
        descriptors.set(INT, at + RSS_HASH_OFFSET, 0);
        descriptors.set(SHORT, at + RX_FLAGS_OFFSET, (short) rxFlags);
        descriptors.set(SHORT, at + VERDICT_OFFSET, (short) 0);
    }

    static void setResult(final MemorySegment descriptors, final int index, final long address, final int length,
                          final int verdict) {
        final long at = (long) index * SIZE;
        descriptors.set(ADDRESS, at + ADDRESS_OFFSET, address);
        descriptors.set(INT, at + LENGTH_OFFSET, length);
        descriptors.set(ValueLayout.JAVA_BYTE, at + VERDICT_OFFSET, (byte) verdict);
    }

    static void setToHost(final MemorySegment descriptors, final int index, final int hostClass) {
        final long at = (long) index * SIZE;
        descriptors.set(ValueLayout.JAVA_BYTE, at + VERDICT_OFFSET, (byte) Verdict.TO_HOST);
        descriptors.set(ValueLayout.JAVA_BYTE, at + REASON_OFFSET, (byte) hostClass);
    }

    static void setDrop(final MemorySegment descriptors, final int index, final int reason) {
        final long at = (long) index * SIZE;
        descriptors.set(ValueLayout.JAVA_BYTE, at + VERDICT_OFFSET, (byte) Verdict.DROP);
        descriptors.set(ValueLayout.JAVA_BYTE, at + REASON_OFFSET, (byte) reason);
    }
}
