package io.synproxy.engine;

import static io.synproxy.packet.Bytes.getNative16;
import static io.synproxy.packet.Bytes.getNative32;
import static io.synproxy.packet.Bytes.getNative64;
import static io.synproxy.packet.Bytes.getU8;
import static io.synproxy.packet.Bytes.setNative16;
import static io.synproxy.packet.Bytes.setNative32;
import static io.synproxy.packet.Bytes.setNative64;
import static io.synproxy.packet.Bytes.setU8;

import java.lang.foreign.MemorySegment;

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
 * |   in: RSS hash (0: none) / out: TX offload request (0: none)  | 16
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
 *
 * <p>The word at 16 has two lives. In, it is the NIC's RSS hash; a frame going out needs neither that nor its RX
 * flags, and 32 bytes have no free field, so out it is the frame's TX checksum request to the port (sp_shim.h
 * {@code tx_offload}), 0 for none:
 * <pre>
 *  31          24 23          16 15           8 7     3 2 1 0
 * +--------------+--------------+--------------+-------+-+-+-+
 * |    l4_len    |    l3_len    |    l2_len    |   0   |6|T|I|
 * +--------------+--------------+--------------+-------+-+-+-+
 *   I {@link #TX_IP_CHECKSUM}: the port computes the IPv4 header checksum (the field holds 0)
 *   T {@link #TX_TCP_CHECKSUM}: the port computes the TCP checksum (the field holds the pseudo-header sum, folded,
 *     not complemented)
 *   6 {@link #TX_IPV6}: the L3 header is IPv6, else IPv4
 * </pre>
 * The shim reads the word only on a port that enabled TX checksum offloads, and only there does the engine write it:
 * with every TX verdict for such a port ({@link #setTxRequest}, 0 for a frame that asks for nothing), so no frame
 * leaves with its RSS hash read as a request, and a port without offload costs the engine not one store more.
 * Frames sent without the engine (the exception path) are cleared ({@link #clearTxRequest}).
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
    /** The TX request: the RSS hash's word, on the way out. */
    public static final int TX_OFFLOAD_OFFSET = RSS_HASH_OFFSET;
    public static final int SIZE = 32;

    /** TX request: the port computes the IPv4 header checksum (the engine leaves it 0). */
    public static final int TX_IP_CHECKSUM = 1;
    /** TX request: the port computes the TCP checksum (the engine leaves the pseudo-header sum in it). */
    public static final int TX_TCP_CHECKSUM = 2;
    /** TX request: the L3 header is IPv6 (else IPv4). */
    public static final int TX_IPV6 = 4;
    public static final int TX_L2_SHIFT = 8;
    public static final int TX_L3_SHIFT = 16;
    public static final int TX_L4_SHIFT = 24;

    /** The NIC verified the IPv4 header checksum. */
    public static final int RX_IP_CHECKSUM_GOOD = 1;
    /** The NIC verified the TCP checksum. */
    public static final int RX_L4_CHECKSUM_GOOD = 2;

    /** Descriptors are in native order: where the verdict byte sits in the 8 bytes from {@link #TX_OFFLOAD_OFFSET}. */
    private static final boolean LITTLE_ENDIAN = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN;

    private FrameDescriptors() {
    }

    /** The layout items the DPDK shim reports (sp_layout), in its order, as Java assumes them. */
    public static long[] shimLayout(final int statsCount) {
        return new long[] {SIZE, ADDRESS_OFFSET, LENGTH_OFFSET, HEADROOM_OFFSET, TAILROOM_OFFSET, RSS_HASH_OFFSET,
            RX_FLAGS_OFFSET, VERDICT_OFFSET, REASON_OFFSET, HANDLE_OFFSET, statsCount, TX_OFFLOAD_OFFSET,
            TX_IP_CHECKSUM, TX_TCP_CHECKSUM, TX_IPV6, TX_L2_SHIFT, TX_L3_SHIFT, TX_L4_SHIFT};
    }

    /** A TX request: {@code checksums} ({@link #TX_IP_CHECKSUM}, {@link #TX_TCP_CHECKSUM}, {@link #TX_IPV6}), lengths. */
    public static int txRequest(final int checksums, final int l2Length, final int l3Length, final int l4Length) {
        return checksums | l2Length << TX_L2_SHIFT | l3Length << TX_L3_SHIFT | l4Length << TX_L4_SHIFT;
    }

    /** The TX request of a frame with a TX verdict (0: none). */
    public static int txOffload(final MemorySegment descriptors, final int index) {
        return getNative32(descriptors, (long) index * SIZE + TX_OFFLOAD_OFFSET);
    }

    /**
     * Clears the TX request of a frame that is sent without the engine's verdict (the kernel's frames from the
     * exception path): what it holds is the RSS hash of its reception.
     */
    public static void clearTxRequest(final MemorySegment descriptors, final int index) {
        setNative32(descriptors, (long) index * SIZE + TX_OFFLOAD_OFFSET, 0);
    }

    public static long address(final MemorySegment descriptors, final int index) {
        return getNative64(descriptors, (long) index * SIZE + ADDRESS_OFFSET);
    }

    public static int length(final MemorySegment descriptors, final int index) {
        return getNative32(descriptors, (long) index * SIZE + LENGTH_OFFSET);
    }

    public static int headroom(final MemorySegment descriptors, final int index) {
        return getNative16(descriptors, (long) index * SIZE + HEADROOM_OFFSET) & 0xffff;
    }

    public static int tailroom(final MemorySegment descriptors, final int index) {
        return getNative16(descriptors, (long) index * SIZE + TAILROOM_OFFSET) & 0xffff;
    }

    public static int rxFlags(final MemorySegment descriptors, final int index) {
        return getNative16(descriptors, (long) index * SIZE + RX_FLAGS_OFFSET) & 0xffff;
    }

    public static int verdict(final MemorySegment descriptors, final int index) {
        return getU8(descriptors, (long) index * SIZE + VERDICT_OFFSET);
    }

    public static int reason(final MemorySegment descriptors, final int index) {
        return getU8(descriptors, (long) index * SIZE + REASON_OFFSET);
    }

    /** Sets the input fields of one descriptor (what the shim does for each received frame). */
    public static void setFrame(final MemorySegment descriptors, final int index, final long address,
                                final int length, final int headroom, final int tailroom, final int rxFlags) {
        final long at = (long) index * SIZE;
        setNative64(descriptors, at + ADDRESS_OFFSET, address);
        setNative32(descriptors, at + LENGTH_OFFSET, length);
        setNative16(descriptors, at + HEADROOM_OFFSET, (short) headroom);
        setNative16(descriptors, at + TAILROOM_OFFSET, (short) tailroom);
        setNative32(descriptors, at + RSS_HASH_OFFSET, 0);
        setNative16(descriptors, at + RX_FLAGS_OFFSET, (short) rxFlags);
        setNative16(descriptors, at + VERDICT_OFFSET, (short) 0);
    }

    static void setResult(final MemorySegment descriptors, final int index, final long address, final int length,
                          final int verdict) {
        final long at = (long) index * SIZE;
        setNative64(descriptors, at + ADDRESS_OFFSET, address);
        setNative32(descriptors, at + LENGTH_OFFSET, length);
        setU8(descriptors, at + VERDICT_OFFSET, (byte) verdict);
    }

    /**
     * {@link #setResult(MemorySegment, int, long, int, int)} for a port that reads TX requests: the request ({@link
     * #txRequest}, 0: none) too, with the verdict in one 8-byte store over request, RX flags (read already, and
     * meaningless going out: 0), verdict and reason (0). Each access to the descriptors costs its checks, so one
     * store, not two.
     */
    static void setResult(final MemorySegment descriptors, final int index, final long address, final int length,
                          final int verdict, final int txRequest) {
        final long at = (long) index * SIZE;
        setNative64(descriptors, at + ADDRESS_OFFSET, address);
        setNative32(descriptors, at + LENGTH_OFFSET, length);
        final long request = txRequest & 0xffffffffL;
        final long verdictByte = verdict & 0xffL;
        final int verdictAt = VERDICT_OFFSET - TX_OFFLOAD_OFFSET; // byte 6 of the 8
        setNative64(descriptors, at + TX_OFFLOAD_OFFSET, LITTLE_ENDIAN
            ? request | verdictByte << (8 * verdictAt) : request << 32 | verdictByte << (8 * (7 - verdictAt)));
    }

    /**
     * A frame's TX request ({@link #txRequest}, 0: none), for a port that reads it (one that enabled TX checksum
     * offload). Only for such ports: the shim reads no other port's, and this store is all the offload costs there.
     */
    static void setTxRequest(final MemorySegment descriptors, final int index, final int txRequest) {
        setNative32(descriptors, (long) index * SIZE + TX_OFFLOAD_OFFSET, txRequest);
    }

    static void setToHost(final MemorySegment descriptors, final int index, final int hostClass) {
        final long at = (long) index * SIZE;
        setU8(descriptors, at + VERDICT_OFFSET, (byte) Verdict.TO_HOST);
        setU8(descriptors, at + REASON_OFFSET, (byte) hostClass);
    }

    static void setDrop(final MemorySegment descriptors, final int index, final int reason) {
        final long at = (long) index * SIZE;
        setU8(descriptors, at + VERDICT_OFFSET, (byte) Verdict.DROP);
        setU8(descriptors, at + REASON_OFFSET, (byte) reason);
    }
}
