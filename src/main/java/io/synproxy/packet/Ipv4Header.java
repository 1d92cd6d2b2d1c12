package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU8;
import static io.synproxy.packet.Bytes.setU32;
import static io.synproxy.packet.Bytes.setU64;

import java.lang.foreign.MemorySegment;

/**
 * IPv4 (RFC 791).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (IHL > 5)                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Ipv4Header {
    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SOURCE_OFFSET = 12;
    public static final int DESTINATION_OFFSET = 16;
    public static final int MIN_LENGTH = 20;
    public static final int FLAG_DONT_FRAGMENT = 0x4000;
    public static final int FLAG_MORE_FRAGMENTS = 0x2000;
    public static final int FRAGMENT_OFFSET_MASK = 0x1fff;
    public static final int PROTOCOL_ICMP = 1;
    public static final int PROTOCOL_TCP = 6;
    public static final int PROTOCOL_UDP = 17;
    public static final int DEFAULT_TTL = 64;

    private Ipv4Header() {
    }

    public static int tos(final MemorySegment segment, final long ip) {
        return getU8(segment, ip + TOS_OFFSET) & 0xff;
    }

    // The parser loads the fixed header as two big-endian 8-byte words and one 4-byte one, and takes every field
    // from them: word 0 is bytes 0-7 (version and IHL, TOS, total length, identification, flags and fragment
    // offset), word 1 bytes 8-15 (TTL, protocol, checksum, source address), then the destination address.

    public static int version(final long word0) {
        return (int) (word0 >>> 60);
    }

    /** Header length in bytes. */
    public static int headerLength(final long word0) {
        return ((int) (word0 >>> 56) & 0x0f) << 2;
    }

    public static int totalLength(final long word0) {
        return (int) (word0 >>> 32) & 0xffff;
    }

    /** True for any fragment: More Fragments set or a non-zero offset. */
    public static boolean isFragment(final long word0) {
        return (word0 & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public static int protocol(final long word1) {
        return (int) (word1 >>> 48) & 0xff;
    }

    /**
     * Writes an option-less header and its checksum, computed from the values in hand rather than re-read.
     * Identification 0 with Don't Fragment set, as Linux sends for TCP.
     */
    public static void write(final MemorySegment segment, final long ip, final int tos, final int totalLength,
                             final int ttl, final int protocol, final int source, final int destination) {
        final int word0 = (0x45 << 24) | ((tos & 0xff) << 16) | totalLength;
        final int word2 = (ttl << 24) | (protocol << 16);
        final long sum = Checksum.sum32(word0) + FLAG_DONT_FRAGMENT + Checksum.sum32(word2)
            + Checksum.sum32(source) + Checksum.sum32(destination);
        // Three stores: the first two words, TTL to source, destination.
        setU64(segment, ip, ((long) word0 << 32) | FLAG_DONT_FRAGMENT);
        final int word2WithChecksum = word2 | Checksum.finish(sum);
        setU64(segment, ip + TTL_OFFSET, ((long) word2WithChecksum << 32) | (source & 0xffffffffL));
        setU32(segment, ip + DESTINATION_OFFSET, destination);
    }

    /**
     * {@link #write} for a port that computes the header checksum itself (TX checksum offload): the same header with
     * the checksum field 0, as the port wants it, and no sum made (five additions, a fold and a complement saved).
     */
    public static void writeUnsummed(final MemorySegment segment, final long ip, final int tos, final int totalLength,
                                     final int ttl, final int protocol, final int source, final int destination) {
        final int word0 = (0x45 << 24) | ((tos & 0xff) << 16) | totalLength;
        final int word2 = (ttl << 24) | (protocol << 16);
        setU64(segment, ip, ((long) word0 << 32) | FLAG_DONT_FRAGMENT);
        setU64(segment, ip + TTL_OFFSET, ((long) word2 << 32) | (source & 0xffffffffL));
        setU32(segment, ip + DESTINATION_OFFSET, destination);
    }
}
