package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU8;
import static io.synproxy.packet.Bytes.setU32;
import static io.synproxy.packet.Bytes.setU64;

import java.lang.foreign.MemorySegment;

/**
 * IPv6 (RFC 8200) fixed header, and the generic extension header the parser skips.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                   Source Address (128 bits)                   +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                Destination Address (128 bits)                 +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Hop-by-Hop (0), Routing (43), Destination Options (60) extension headers:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |  Hdr Ext Len  |  (Hdr Ext Len + 1) * 8 bytes in all
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Ipv6Header {
    public static final int VERSION_CLASS_FLOW_OFFSET = 0;
    public static final int PAYLOAD_LENGTH_OFFSET = 4;
    public static final int NEXT_HEADER_OFFSET = 6;
    public static final int HOP_LIMIT_OFFSET = 7;
    public static final int SOURCE_OFFSET = 8;
    public static final int DESTINATION_OFFSET = 24;
    public static final int LENGTH = 40;
    public static final int NEXT_HOP_BY_HOP = 0;
    public static final int NEXT_TCP = 6;
    public static final int NEXT_UDP = 17;
    public static final int NEXT_ROUTING = 43;
    public static final int NEXT_FRAGMENT = 44;
    public static final int NEXT_DESTINATION_OPTIONS = 60;
    public static final int EXTENSION_MIN_LENGTH = 8;
    public static final int DEFAULT_HOP_LIMIT = 64;

    private Ipv6Header() {
    }

    public static int version(final MemorySegment segment, final long ip) {
        return (getU8(segment, ip) & 0xf0) >>> 4;
    }

    public static int trafficClass(final MemorySegment segment, final long ip) {
        return (getU16(segment, ip) >>> 4) & 0xff;
    }

    public static int payloadLength(final MemorySegment segment, final long ip) {
        return getU16(segment, ip + PAYLOAD_LENGTH_OFFSET) & 0xffff;
    }

    public static int nextHeader(final MemorySegment segment, final long ip) {
        return getU8(segment, ip + NEXT_HEADER_OFFSET) & 0xff;
    }

    /** True for the extension headers the parser skips (fragments are not among them: they are dropped). */
    public static boolean isSkippableExtension(final int nextHeader) {
        return nextHeader == NEXT_HOP_BY_HOP || nextHeader == NEXT_ROUTING || nextHeader == NEXT_DESTINATION_OPTIONS;
    }

    public static int extensionNextHeader(final MemorySegment segment, final long extension) {
        return getU8(segment, extension) & 0xff;
    }

    public static int extensionLength(final MemorySegment segment, final long extension) {
        return ((getU8(segment, extension + 1) & 0xff) + 1) << 3;
    }

    /** Writes the fixed header; addresses are given as two big-endian 64-bit halves each. */
    public static void write(final MemorySegment segment, final long ip, final int trafficClass,
                             final int flowLabel, final int payloadLength, final int nextHeader, final int hopLimit,
                             final long sourceHigh, final long sourceLow, final long destinationHigh,
                             final long destinationLow) {
        setU32(segment, ip, (6 << 28) | ((trafficClass & 0xff) << 20) | (flowLabel & 0xfffff));
        setU32(segment, ip + PAYLOAD_LENGTH_OFFSET, (payloadLength << 16) | (nextHeader << 8) | hopLimit);
        setU64(segment, ip + SOURCE_OFFSET, sourceHigh);
        setU64(segment, ip + SOURCE_OFFSET + 8, sourceLow);
        setU64(segment, ip + DESTINATION_OFFSET, destinationHigh);
        setU64(segment, ip + DESTINATION_OFFSET + 8, destinationLow);
    }
}
