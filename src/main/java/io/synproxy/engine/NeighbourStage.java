package io.synproxy.engine;

import java.lang.foreign.MemorySegment;

/**
 * The ICMP and neighbour stage: ARP requests and IPv6 neighbour solicitations for our addresses are answered in
 * place ({@link NeighbourResponder}); an ICMP or ICMPv6 path-MTU error about a VIP flow ({@link PathMtu}) goes to
 * that flow's backend, unmarked, so its socket learns the smaller MTU.
 *
 * <pre>
 *  ICMP "fragmentation needed" / ICMPv6 "packet too big" to a VIP
 *  +------+------+----------+-----------+---------------------------------------------------------+
 *  | type | code | checksum | MTU       | quoted: the IP header and the first 8 bytes of TCP we sent |
 *  +------+------+----------+-----------+---------------------------------------------------------+
 *                                         the quoted tuple (reversed) is the flow: its backend gets it
 * </pre>
 */
final class NeighbourStage {
    private final BurstTable burst;
    private final EngineCounters counters;
    private final EncapStage encap;
    private VipTable vips;
    private NeighbourResponder neighbours;
    private PathMtu pathMtu;
    /** The receiving port's MAC (ARP and ND replies), or -1: unknown, answer only requests sent to us directly. */
    private long localMac = -1;
    /** Whether the receiving port reads TX requests (then every reply carries one: none). */
    private int clientTxChecksum;

    NeighbourStage(final BurstTable burst, final EncapStage encap) {
        this.burst = burst;
        this.counters = burst.counters;
        this.encap = encap;
    }

    void apply(final EngineSettings s) {
        this.vips = s.vips;
        this.neighbours = s.neighbours;
        this.pathMtu = s.pathMtu;
    }

    void setLocalMac(final long mac) {
        this.localMac = mac;
    }

    void setTxChecksumOffload(final int offloads) {
        this.clientTxChecksum = offloads;
    }

    /** An ARP frame: answered when it asks for one of our addresses, else its drop reason. */
    int arp(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
            final int length, final int l2) {
        return reply(descriptors, index, frame, neighbours.arp(mem, frame, length, l2,
            FrameDescriptors.tailroom(descriptors, index), localMac));
    }

    /** An ICMPv6 message other than "packet too big": a neighbour solicitation is answered, else its drop reason. */
    int neighbourSolicitation(final MemorySegment mem, final MemorySegment descriptors, final int index,
                              final long frame, final int length, final long ip, final long icmp,
                              final int icmpLength) {
        return reply(descriptors, index, frame, neighbours.neighbourSolicitation(mem, frame, length, ip, icmp,
            icmpLength, FrameDescriptors.tailroom(descriptors, index), localMac));
    }


    /** An ICMP message to a VIP address: a path-MTU error for a VIP flow goes to the flow's backend, unmarked. */
    int pathMtuV4(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
                          final long ip, final int ihl, final int totalLength, final int destination) {
        if (!vips.ownsV4(destination)) {
            return DropReason.NOT_VIP.ordinal();
        }
        final int reason = pathMtu.checkV4(mem, ip + ihl, ip + totalLength, destination);
        if (reason != DropReason.NONE.ordinal()) {
            return reason;
        }
        counters.increment(EngineCounters.ICMP_FORWARDED);
        return encap.unmarked(mem, descriptors, index, frame, ip, false, totalLength, ip + ihl, pathMtu.flow,
            EncapStage.ICMP);
    }

    /** An ICMPv6 "packet too big" for a VIP flow: to the flow's backend, unmarked. */
    int pathMtuV6(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
                          final long ip, final long icmp, final int packetLength) {
        final int reason = pathMtu.checkV6(mem, ip, icmp, ip + packetLength);
        if (reason != DropReason.NONE.ordinal()) {
            return reason;
        }
        counters.increment(EngineCounters.ICMP_FORWARDED);
        return encap.unmarked(mem, descriptors, index, frame, ip, true, packetLength, icmp, pathMtu.flow,
            EncapStage.ICMP);
    }

    /** Sends a neighbour reply back, or returns the responder's drop reason. */
    private int reply(final MemorySegment descriptors, final int index, final long frame,
                               final int result) {
        if (result < 0) {
            return -result;
        }
        counters.increment(EngineCounters.NEIGHBOUR_REPLIES);
        burst.verdicts |= 1 << Verdict.TX_CLIENT;
        FrameDescriptors.setResult(descriptors, index, frame, result, Verdict.TX_CLIENT);
        if (clientTxChecksum != 0) {
            // The port reads every frame's request: ARP has no checksum, ICMPv6's is summed here.
            FrameDescriptors.setTxRequest(descriptors, index, 0);
        }
        return DropReason.NONE.ordinal();
    }
}
