package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getLE32;
import static io.synproxy.packet.Bytes.getLE64;
import static io.synproxy.packet.Bytes.setU16;
import static io.synproxy.packet.Bytes.setU64;

import io.synproxy.packet.EncapHeader;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.UdpHeader;
import java.lang.foreign.MemorySegment;

/**
 * The encapsulation stage: a frame for a VIP goes to its Maglev backend inside outer Ethernet, IP, UDP and
 * {@link EncapHeader} headers, prepended in the frame's headroom in place of its Ethernet header. The client's IP
 * packet is not touched. The authenticators, this stage's table ({@link AuthLanes}), are computed for the whole
 * burst together ({@link #finish}).
 *
 * <pre>
 *  headroom                                                        the frame as received, from its IP header on
 *  +----------------+------------------+-----------+---------------+-----------------------------------------+
 *  | Ethernet       | IPv4 (20) or     | UDP (8)   | EncapHeader   | client's IP packet (untouched)          |
 *  | next hop, ours | IPv6 (40)        | port from | (16, or 32    |                                         |
 *  |                | us -> backend    | the flow  | when chained) |                                         |
 *  +----------------+------------------+-----------+---------------+-----------------------------------------+
 * </pre>
 */
final class EncapStage {
    /** What is carried: a validated handshake, other TCP (may be chained to a previous owner), an ICMP error. */
    static final int HANDSHAKE = 0;
    static final int TCP = 1;
    static final int ICMP = 2;

    private static final int OUTER_V4 = EthernetHeader.LENGTH + Ipv4Header.MIN_LENGTH + UdpHeader.LENGTH
        + EncapHeader.LENGTH;
    private static final int OUTER_V6 = EthernetHeader.LENGTH + Ipv6Header.LENGTH + UdpHeader.LENGTH
        + EncapHeader.LENGTH;

    private final BurstTable burst;
    private final EngineCounters counters;
    private final ChainedHeader chain = new ChainedHeader();
    /** Authenticators of the burst's encapsulated frames, computed together once their marks are known. */
    private final AuthLanes authenticatorsV4 = new AuthLanes(BurstTable.CAPACITY, false);
    private final AuthLanes authenticatorsV6 = new AuthLanes(BurstTable.CAPACITY, true);

    private BackendTable backends;
    /** Our window scale (0 when window scaling is disabled), carried in a handshake's mark. */
    private int windowScale;
    private int encapPort;
    /** The backend-facing port's MAC (outer source), or -1: the receiving port's, as the frame addressed it. */
    private long backendMac = -1;
    /** The TX checksum offloads the backend port has enabled: the outer IPv4 header checksum. 0: in software. */
    private int backendTxChecksum;

    EncapStage(final BurstTable burst) {
        this.burst = burst;
        this.counters = burst.counters;
    }

    void apply(final EngineSettings s) {
        this.windowScale = Math.max(s.windowScale, 0);
        this.encapPort = s.encapPort;
    }

    void applyBackends(final BackendTable table) {
        this.backends = table;
    }

    void setBackendMac(final long mac) {
        this.backendMac = mac;
    }

    void setTxChecksumOffload(final int offloads) {
        this.backendTxChecksum = offloads;
    }

    /** Writes the burst's authenticators, each family's hashed together. */
    void finish(final MemorySegment mem) {
        authenticatorsV4.finish(mem);
        authenticatorsV6.finish(mem);
    }


    /** {@link #encapsulate} for everything but a validated handshake ACK: no mark, no epoch, no MSS. */
    int unmarked(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                    final long frame, final long ip, final boolean innerV6, final int innerLength,
                                    final long transport, final long flow, final int kind) {
        return encapsulate(mem, descriptors, index, frame, ip, innerV6, innerLength, transport, flow, kind, 0, 0);
    }

    /**
     * Prepends the outer Ethernet, IP, UDP and {@link EncapHeader} headers in the frame's headroom, in place of its
     * Ethernet header, and points the descriptor at them. The client's IP packet is not touched. The authenticator is
     * queued for {@link #authenticatorsV4} or {@link #authenticatorsV6}, which compute the burst's together.
     *
     * @param transport where the inner transport header starts (TCP, or the ICMP error); its first 12 bytes are read
     * @param epoch     with {@code handshake}: the salt epoch that issued the cookie
     * @param mss       with {@code handshake}: the client's MSS from the cookie
     */
    int encapsulate(final MemorySegment mem, final MemorySegment descriptors, final int index,
                            final long frame, final long ip, final boolean innerV6, final int innerLength,
                            final long transport, final long flow, final int kind, final long epoch,
                            final int mss) {
        final BackendTable table = backends;
        if (table.isEmpty()) {
            return DropReason.NO_BACKEND.ordinal();
        }
        final boolean handshake = kind == HANDSHAKE;
        final int backend = table.lookup(flow, innerV6);
        final long nextHopMac = table.nextHopMac(backend);
        if (nextHopMac < 0) {
            return DropReason.NEXT_HOP_UNRESOLVED.ordinal();
        }
        final boolean outerV6 = table.isV6(backend);
        // A slot that changed hands names its previous owner on established traffic (never on a handshake: a new
        // connection belongs to the new owner), so the new owner can hand over what it has no socket for.
        final int previous = kind == TCP ? table.previousOwner(flow, innerV6, burst.nowMillis) : BackendTable.NONE;
        final boolean chained = previous != BackendTable.NONE && table.isV6(previous) == outerV6;
        final int headerLength = chained ? EncapHeader.CHAINED_LENGTH : EncapHeader.LENGTH;
        final int outerLength = (outerV6 ? OUTER_V6 : OUTER_V4) + headerLength - EncapHeader.LENGTH;
        final long start = ip - outerLength;
        if (start < frame - FrameDescriptors.headroom(descriptors, index)) {
            return DropReason.NO_ROOM.ordinal();
        }
        // Without a configured MAC, the one the frame was addressed to is ours.
        final long sourceMac = backendMac >= 0 ? backendMac : EthernetHeader.destination(mem, frame);
        final int trafficClass = innerV6 ? Ipv6Header.trafficClass(mem, ip) : Ipv4Header.tos(mem, ip);
        final int firstWord = EncapHeader.firstWord(innerV6 ? EncapHeader.PROTOCOL_IPV6 : EncapHeader.PROTOCOL_IPV4,
            handshake ? EncapHeader.handshakeFlags(epoch, windowScale) : EncapHeader.unmarkedFlags());
        final int secondWord = EncapHeader.secondWord(mss);
        final long header = start + outerLength - headerLength;
        // The batched authenticator: this backend's for a plain header, the previous owner's (A2) for a chained one;
        // both over the plain header's message.
        final long authenticatorAt = header + (chained ? EncapHeader.PREVIOUS_AUTHENTICATOR_OFFSET
            : EncapHeader.AUTHENTICATOR_OFFSET);
        final long m0 = EncapHeader.firstBlock(firstWord, secondWord);
        final long transportHead = getLE64(mem, transport);
        final long last = EncapHeader.lastBlock(getLE32(mem, transport + 8), innerV6);
        final long k0 = table.authK0(chained ? previous : backend);
        final long k1 = table.authK1(chained ? previous : backend);
        if (innerV6) {
            authenticatorsV6.addV6(authenticatorAt, k0, k1, m0, getLE64(mem, ip + 8), getLE64(mem, ip + 16),
                getLE64(mem, ip + 24), getLE64(mem, ip + 32), transportHead, last);
        } else {
            authenticatorsV4.addV4(authenticatorAt, k0, k1, m0, getLE64(mem, ip + Ipv4Header.SOURCE_OFFSET),
                transportHead, last);
        }

        final int udpLength = UdpHeader.LENGTH + headerLength + innerLength;
        final long outerIp = start + EthernetHeader.LENGTH;
        final long udp;
        if (outerV6) {
            EthernetHeader.write(mem, start, nextHopMac, sourceMac, EthernetHeader.ETHER_TYPE_IPV6);
            // The flow label from the flow hash's top bits (its universal ones).
            Ipv6Header.write(mem, outerIp, trafficClass, (int) (flow >>> 44), udpLength, Ipv6Header.NEXT_UDP,
                Ipv6Header.DEFAULT_HOP_LIMIT, table.sourceHigh(), table.sourceLow(), table.addressHigh(backend),
                table.addressLow(backend));
            if (backendTxChecksum != 0) {
                // The backend port reads every frame's request: an IPv6 header has no checksum to ask for.
                FrameDescriptors.setTxRequest(descriptors, index, 0);
            }
            udp = outerIp + Ipv6Header.LENGTH;
        } else {
            EthernetHeader.write(mem, start, nextHopMac, sourceMac, EthernetHeader.ETHER_TYPE_IPV4);
            Ipv4Header.write(mem, outerIp, trafficClass, Ipv4Header.MIN_LENGTH + udpLength, Ipv4Header.DEFAULT_TTL,
                Ipv4Header.PROTOCOL_UDP, table.sourceV4(), table.addressV4(backend));
            if (backendTxChecksum != 0) {
                // After the software checksum, not instead of it: with the choice made here, this method grew and the
                // ACK path measured 4% slower with offload off (harness, one run); five additions are all it costs.
                offloadOuterV4(mem, descriptors, index, outerIp);
            }
            udp = outerIp + Ipv4Header.MIN_LENGTH;
        }
        // Ephemeral-range source port from the flow hash: backend NICs spread flows over queues by it.
        UdpHeader.write(mem, udp, 0xc000 | (int) (flow >>> 50), encapPort, udpLength);
        if (chained) {
            final int chainedFirst = EncapHeader.chainedFirstWord(innerV6 ? EncapHeader.PROTOCOL_IPV6
                : EncapHeader.PROTOCOL_IPV4);
            EncapHeader.write(mem, header, chainedFirst, EncapHeader.FLAG_PREVIOUS, 0);
            ChainedHeader.writePrevious(mem, header, table, previous);
            setU64(mem, header + EncapHeader.AUTHENTICATOR_OFFSET, chain.receiverAuthenticator(mem, header, ip,
                innerV6, transport, table.authK0(backend), table.authK1(backend)));
            counters.increment(EngineCounters.CHAINED);
        } else {
            EncapHeader.write(mem, header, firstWord, secondWord, 0);
        }

        counters.increment(EngineCounters.ENCAPSULATED);
        burst.verdicts |= 1 << Verdict.TX_BACKEND;
        FrameDescriptors.setResult(descriptors, index, start, outerLength + innerLength, Verdict.TX_BACKEND);
        return DropReason.NONE.ordinal();
    }

    /**
     * The outer IPv4 header of an encapsulated frame on a backend port that reads TX requests: with IPv4 checksum
     * offload its checksum field cleared and the port asked to compute it, else no request.
     */
    private void offloadOuterV4(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                final long outerIp) {
        if ((backendTxChecksum & FrameDescriptors.TX_IP_CHECKSUM) == 0) {
            FrameDescriptors.setTxRequest(descriptors, index, 0);
            return;
        }
        setU16(mem, outerIp + Ipv4Header.CHECKSUM_OFFSET, (short) 0);
        FrameDescriptors.setTxRequest(descriptors, index, FrameDescriptors.txRequest(FrameDescriptors.TX_IP_CHECKSUM,
            EthernetHeader.LENGTH, Ipv4Header.MIN_LENGTH, 0));
    }
}
