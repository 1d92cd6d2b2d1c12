package io.synproxy.packet;


import static io.synproxy.packet.Bytes.setU32;

import java.lang.foreign.MemorySegment;

/**
 * UDP (RFC 768).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class UdpHeader {
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;
    public static final int LENGTH = 8;

    private UdpHeader() {
    }

    /** Writes the header with a zero checksum (none: RFC 768 for IPv4, RFC 6935 for tunnels over IPv6). */
    public static void write(final MemorySegment segment, final long udp, final int sourcePort,
                             final int destinationPort, final int length) {
        setU32(segment, udp, (sourcePort << 16) | destinationPort);
        setU32(segment, udp + LENGTH_OFFSET, length << 16);
    }
}
