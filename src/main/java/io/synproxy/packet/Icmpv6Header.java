package io.synproxy.packet;

/**
 * ICMPv6 neighbour solicitation and advertisement (RFC 4861), the parts a proxy answering for its addresses needs.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Type 135/136 |     Code 0    |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|S|O|                     Reserved                            |  (flags: advertisements only)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                       Target Address                          +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Options: type 1 source / 2 target link-layer address, len 1 (8 bytes), MAC
 * +-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Icmpv6Header {
    public static final int NEXT_HEADER_ICMPV6 = 58;
    /** Packet too big (RFC 4443): handled by {@link IcmpError}. */
    public static final int TYPE_PACKET_TOO_BIG = 2;
    public static final int TYPE_NEIGHBOUR_SOLICITATION = 135;
    public static final int TYPE_NEIGHBOUR_ADVERTISEMENT = 136;
    public static final int TYPE_OFFSET = 0;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int FLAGS_OFFSET = 4;
    public static final int TARGET_OFFSET = 8;
    public static final int NEIGHBOUR_MESSAGE_LENGTH = 24;
    /** Solicited and Override: the answer to a solicitation for an address we own. */
    public static final int FLAGS_SOLICITED_OVERRIDE = 0x60000000;
    public static final int OPTION_TARGET_LINK_LAYER = 2;
    /** Neighbour discovery messages must arrive with the maximum hop limit: proof they were not routed. */
    public static final int ND_HOP_LIMIT = 255;

    private Icmpv6Header() {
    }
}
