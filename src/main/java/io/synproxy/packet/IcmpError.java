package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU8;

import java.lang.foreign.MemorySegment;

/**
 * The ICMP errors of path MTU discovery: IPv4 "destination unreachable, fragmentation needed" (RFC 1191) and ICMPv6
 * "packet too big" (RFC 8201). Both quote the start of the packet that did not fit: here one a backend sent from a VIP
 * to a client (direct return), so the error comes back to the VIP, that is to the proxy.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Type 3 / 2   |  Code 4 / 0   |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  IPv4: unused |  next-hop MTU |   IPv6: MTU (32 bits)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   The quoted packet: its IP header, then at least 8 bytes      |
 * |   (the TCP ports and sequence number)                          |
 * </pre>
 */
public final class IcmpError {
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int QUOTED_OFFSET = 8;
    /** Bytes of the quoted transport header an error must carry for us to find the flow: ports and sequence. */
    public static final int QUOTED_TRANSPORT_MIN = 8;
    public static final int TYPE_DESTINATION_UNREACHABLE = 3;
    public static final int CODE_FRAGMENTATION_NEEDED = 4;
    public static final int TYPE_PACKET_TOO_BIG_V6 = Icmpv6Header.TYPE_PACKET_TOO_BIG;

    private IcmpError() {
    }

    public static int type(final MemorySegment segment, final long icmp) {
        return getU8(segment, icmp + TYPE_OFFSET) & 0xff;
    }

    public static int code(final MemorySegment segment, final long icmp) {
        return getU8(segment, icmp + CODE_OFFSET) & 0xff;
    }
}
