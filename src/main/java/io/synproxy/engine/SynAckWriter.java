package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getLE32;
import static io.synproxy.packet.Bytes.getLE64;
import static io.synproxy.packet.Bytes.setLE32;
import static io.synproxy.packet.Bytes.setLE64;
import static io.synproxy.packet.Bytes.setU32;
import static io.synproxy.packet.Bytes.setU64;

import io.synproxy.cookie.SynCookie;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.TcpHeader;
import io.synproxy.packet.TcpOptions;
import java.lang.foreign.MemorySegment;

/**
 * The SYN-ACK's bytes, for {@link SynStage}: the MACs swapped, the TCP header and options written over the SYN's on
 * arrival, and the cookie, TSval and checksum once the burst's cookies are hashed.
 *
 * <pre>
 *  the SYN-ACK's TCP header, written over the SYN's
 *  +---------+----------+---------------+-----------------+------------+-------------------------------------+
 *  | ports   | seq      | ack = ISN + 1 | offset, SYN ACK | sum, urg 0 | MSS, [SACK-perm], [TS], [WS]        |
 *  | swapped | = cookie |               | [ECE], window   |            | Linux's order, padded with NOPs     |
 *  +---------+----------+---------------+-----------------+------------+-------------------------------------+
 *   arrival    complete   arrival         arrival           complete     arrival (TSval in complete)
 * </pre>
 */
final class SynAckWriter {
    private SynAckWriter() {
    }

    static int optionsLength(final int bits, final boolean timestamps) {
        return TcpOptions.synAckLength(SynCookie.wscale(bits) != SynCookie.WSCALE_NONE, SynCookie.sack(bits),
            timestamps);
    }

    /** True when a rewritten frame of {@code outLength} (padded to the Ethernet minimum) fits its buffer. */
    static boolean fits(final MemorySegment descriptors, final int index, final int length,
                                final int outLength) {
        final int needed = Math.max(outLength, EthernetHeader.MIN_FRAME_LENGTH);
        // A reply no longer than what arrived (the usual SYN-ACK) needs no look at the tailroom.
        return needed <= length || needed <= length + FrameDescriptors.tailroom(descriptors, index);
    }

    static void swapMacs(final MemorySegment mem, final long frame) {
        // Destination (6 bytes) then source (6 bytes), loaded little-endian (no byte swaps: only bytes move):
        // head = d0..d5 s0 s1, tail = s2..s5; the result is s0..s5 d0 d1 | d2..d5.
        final long head = getLE64(mem, frame);
        final int tail = getLE32(mem, frame + 8);
        setLE64(mem, frame, (head >>> 48) | ((tail & 0xffffffffL) << 16) | (head << 48));
        setLE32(mem, frame + 8, (int) (head >>> 16));
    }

    /**
     * Writes the SYN-ACK's TCP header and options, all but what depends on the cookie (sequence number, TSval,
     * checksum: {@link #complete}), and returns the checksum sum of what it wrote, summed from the values in
     * hand rather than re-read; or, when the port computes the TCP checksum ({@code summed} false), the checksum
     * field's value the port wants instead.
     *
     * @param ports the SYN's ports as read little-endian
     * @param pseudo the unfolded pseudo-header sum without the length
     */
    static long writeTcpHeader(final MemorySegment mem, final long tcp, final int ports, final int isn,
                               final int bits, final int mss, final long pseudo, final boolean timestamps,
                               final int tsEcho, final boolean summed, final int window, final int windowScale) {
        final int tcpLength = TcpHeader.MIN_LENGTH + optionsLength(bits, timestamps);
        // ports was read little-endian: swapping its halves swaps the ports; reversed, it is the big-endian word.
        final int portsBe = Integer.reverseBytes(Integer.rotateLeft(ports, 16));
        final int ack = isn + 1;
        final int outFlags = TcpHeader.SYN | TcpHeader.ACK | (SynCookie.ecn(bits) ? TcpHeader.ECE : 0);
        final int offsetFlagsWindow = ((tcpLength << 2) << 24) | (outFlags << 16) | window;
        setU32(mem, tcp, portsBe);
        setU64(mem, tcp + TcpHeader.ACKNOWLEDGMENT_OFFSET, ((long) ack << 32) | (offsetFlagsWindow & 0xffffffffL));
        final long optionsSum = TcpOptions.writeSynAck(mem, tcp + TcpHeader.OPTIONS_OFFSET, mss,
            SynCookie.wscale(bits) != SynCookie.WSCALE_NONE ? windowScale : -1, SynCookie.sack(bits), timestamps,
            0, tsEcho);
        if (!summed) {
            // DPDK's TCP checksum offload wants the pseudo-header's sum, TCP length included, folded and not
            // complemented, in the checksum field (rte_ipv4_phdr_cksum, rte_ipv6_phdr_cksum): the port sums the
            // segment over it. The header's sum is not made (the options' sum TcpOptions returns, a few additions of
            // values in registers, goes unused).
            return Checksum.fold(pseudo + tcpLength);
        }
        return pseudo + tcpLength + Checksum.sum32(portsBe) + Checksum.sum32(ack) + Checksum.sum32(offsetFlagsWindow)
            + optionsSum;
    }

    /** Writes the cookie as the sequence number, our TSval, and the checksum. */
    static void complete(final MemorySegment mem, final long tcp, final int cookie,
                                       final boolean timestamps, final int tsValue, final long partialSum) {
        long sum = partialSum + Checksum.sum32(cookie);
        setU32(mem, tcp + TcpHeader.SEQUENCE_OFFSET, cookie);
        if (timestamps) {
            // Per connection and keyed (SynCookie): it shows nothing of our clock, and its echo is checked on the ACK.
            // The backend's clock offset is set from that echo, so any value serves.
            setU32(mem, tcp + TcpHeader.OPTIONS_OFFSET + TcpOptions.SYN_ACK_TSVAL_OFFSET, tsValue);
            sum += Checksum.sum32(tsValue);
        }
        setU32(mem, tcp + TcpHeader.CHECKSUM_OFFSET, Checksum.finish(sum) << 16);
    }

    /**
     * {@link SynStage#finish} on a port that computes the TCP checksum: each SYN-ACK gets its cookie and TSval; the
     * checksum field already holds the pseudo-header sum the port completes, so no sum is made here.
     */
    static void completeOffloaded(final MemorySegment mem, final SynLanes lanes) {
        for (int p = 0; p < lanes.count; p++) {
            final long tcp = lanes.tcp[p];
            setU32(mem, tcp + TcpHeader.SEQUENCE_OFFSET, lanes.cookie(p));
            if (lanes.timestamps[p]) {
                setU32(mem, tcp + TcpHeader.OPTIONS_OFFSET + TcpOptions.SYN_ACK_TSVAL_OFFSET, lanes.tsValue(p));
            }
            setU32(mem, tcp + TcpHeader.CHECKSUM_OFFSET, (int) lanes.sum[p] << 16);
        }
        lanes.count = 0;
    }
}
