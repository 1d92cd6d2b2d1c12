package io.synproxy.engine;

/** Why a frame was dropped. Each has its own counter; the ordinal is what the descriptor's reason byte holds. */
public enum DropReason {
    NONE("not dropped"),
    TRUNCATED("frame shorter than its headers say"),
    NOT_UNICAST("destination MAC is multicast or broadcast"),
    NOT_IP("EtherType is neither IPv4 nor IPv6 (ARP and others)"),
    BAD_IP_HEADER("IP version does not match the EtherType, or IPv4 IHL below 5"),
    BAD_IP_LENGTH("IPv4 total length below its header length"),
    BAD_IP_CHECKSUM("IPv4 header checksum is wrong"),
    FRAGMENT("IP fragment (a SYN proxy never reassembles)"),
    IPV6_EXTENSIONS("IPv6 extension header chain too long or truncated"),
    NOT_TCP("not TCP"),
    NOT_VIP("destination address and port is not a configured VIP"),
    BAD_DATA_OFFSET("TCP data offset below 5 or past the end of the packet"),
    BAD_TCP_OPTIONS("TCP option list malformed (length below 2 or running past the header)"),
    BAD_TCP_CHECKSUM("TCP checksum of a SYN is wrong"),
    SYN_FIN("SYN with FIN"),
    SYN_RST("SYN with RST"),
    NO_ACK("segment with none of SYN, ACK, RST (invalid in every TCP state)"),
    NO_ROOM("buffer too small to grow the frame (tailroom) or prepend the encapsulation (headroom)"),
    NO_BACKEND("no backend configured"),
    ARP_IGNORED("ARP other than a request for one of our addresses"),
    ND_IGNORED("ICMPv6 other than a valid neighbour solicitation for one of our addresses"),
    NO_LOCAL_MAC("a broadcast or multicast neighbour request, and the port's MAC is not known"),
    MARTIAN_SOURCE("source address no client can have (broadcast, multicast, loopback, 0/8, 240/4, ::, IPv4-mapped, "
        + "or one of our own): answering would reflect"),
    ICMP_IGNORED("ICMP to a VIP other than a fragmentation-needed / packet-too-big quoting a VIP's TCP flow"),
    NEXT_HOP_UNRESOLVED("the backend's next hop has no MAC yet (or lost it): its neighbour entry is being resolved");

    private final String description;

    DropReason(final String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The counter name: lowercase with dashes, e.g. {@code drop-bad-tcp-options}. */
    public String counterName() {
        return "drop-" + name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    private static final DropReason[] VALUES = values();

    public static DropReason of(final int ordinal) {
        return VALUES[ordinal];
    }
}
