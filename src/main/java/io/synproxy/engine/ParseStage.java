package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getLE32;
import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;

import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.IcmpError;
import io.synproxy.packet.Icmpv6Header;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import java.lang.foreign.MemorySegment;

/**
 * The first stage: each frame's Ethernet, IP and TCP headers checked and located, its tuple read once, and the frame
 * handed to the stage that acts on it: {@link SynStage}, {@link AckStage}, {@link EncapStage} (other TCP to a VIP),
 * {@link NeighbourStage} (ARP, neighbour discovery, ICMP errors); or refused with a drop reason. Every read is
 * preceded by a check that the bytes lie inside the frame.
 *
 * <pre>
 *  Ethernet           [802.1Q]    IPv4 (IHL * 4)
 *  +-----+-----+----+-----+----+---------------------------+--------------------------+-----+-----------+
 *  | dst | src | ET | TCI | ET | ver IHL TOS len id frag    | TTL proto sum src        | dst | [options] |
 *  +-----+-----+----+-----+----+---------------------------+--------------------------+-----+-----------+
 *                                w0 (8 bytes)                w1 (8 bytes)               (4)
 *  TCP (data offset * 4)
 *  +---------------------------+--------------------------------------+-----------+
 *  | src port dst port seq     | ack  offset flags window             | ...       |
 *  +---------------------------+--------------------------------------+-----------+
 *   t0 (8 bytes)                t1 (8 bytes)
 * </pre>
 *
 * IPv6: the fixed header, then at most {@value #MAX_IPV6_EXTENSIONS} skippable extension headers, then TCP or
 * ICMPv6. The five IPv4 words are all the later stages need of the headers: the checksum, the cookie's message and
 * the flow hash are made from them, not from further reads.
 */
final class ParseStage {
    /** Bounds the IPv6 extension-header walk: a longer chain is an attack or a misconfiguration, not traffic. */
    private static final int MAX_IPV6_EXTENSIONS = 4;

    private final BurstTable burst;
    private final EngineCounters counters;
    private final SynStage syn;
    private final AckStage ack;
    private final EncapStage encap;
    private final NeighbourStage neighbour;
    private VipTable vips;
    private FlowHash flowHash;
    /** The exception path's stage, when the receiving port has a host interface; else null. */
    private HostPath host;

    ParseStage(final BurstTable burst, final SynStage syn, final AckStage ack, final EncapStage encap,
               final NeighbourStage neighbour) {
        this.burst = burst;
        this.counters = burst.counters;
        this.syn = syn;
        this.ack = ack;
        this.encap = encap;
        this.neighbour = neighbour;
    }

    void apply(final EngineSettings s) {
        this.vips = s.vips;
        this.flowHash = s.flowHash;
        this.host = s.host;
    }

    /** Takes frames {@code start} to {@code end} (exclusive) of the burst, one at a time. */
    void run(final MemorySegment mem, final MemorySegment descriptors, final int start, final int end) {
        for (int i = start; i < end; i++) {
            final int reason = frame(mem, descriptors, i);
            if (reason != DropReason.NONE.ordinal()) {
                refuse(mem, descriptors, i, reason);
            }
        }
    }

    /**
     * A frame the proxy has no use for: the host's kernel gets it if it is the host's ({@link HostPath}), else it is
     * dropped for {@code reason}. Only refused frames come here: the VIP path never pays for the host's.
     */
    private void refuse(final MemorySegment mem, final MemorySegment descriptors, final int index, final int reason) {
        if (host != null && HostPath.eligible(reason)) {
            final int hostClass = host.classify(mem, FrameDescriptors.address(descriptors, index),
                FrameDescriptors.length(descriptors, index));
            if (hostClass != HostPath.NONE) {
                counters.increment(hostClass == HostPath.CONTROL ? EngineCounters.TO_HOST_CONTROL
                    : EngineCounters.TO_HOST_OTHER);
                burst.verdicts |= 1 << Verdict.TO_HOST;
                FrameDescriptors.setToHost(descriptors, index, hostClass);
                return;
            }
        }
        burst.drop(descriptors, index, reason);
    }

    /**
     * Returns a drop reason ordinal, or {@code NONE} when the descriptor holds a transmit verdict or the frame waits
     * in lanes for one (given before {@link PacketEngine#process} returns).
     */
    private int frame(final MemorySegment mem, final MemorySegment descriptors, final int index) {
        final long frame = FrameDescriptors.address(descriptors, index);
        final int length = FrameDescriptors.length(descriptors, index);
        final int rxFlags = FrameDescriptors.rxFlags(descriptors, index);
        if (length < EthernetHeader.LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        // The I/G bit: the lowest bit of the destination's first byte.
        final boolean group = (getU8(mem, frame) & 1) != 0;
        int etherType = EthernetHeader.etherType(mem, frame);
        int l2 = EthernetHeader.LENGTH;
        if (etherType == EthernetHeader.ETHER_TYPE_VLAN) {
            if (length < EthernetHeader.LENGTH + EthernetHeader.VLAN_TAG_LENGTH) {
                return DropReason.TRUNCATED.ordinal();
            }
            etherType = getU16(mem, frame + EthernetHeader.TAGGED_ETHER_TYPE_OFFSET) & 0xffff;
            l2 += EthernetHeader.VLAN_TAG_LENGTH;
        }
        final long ip = frame + l2;
        if (etherType == EthernetHeader.ETHER_TYPE_IPV4) {
            // TCP is only ever for us when sent to our MAC (Linux drops PACKET_BROADCAST and _MULTICAST TCP too).
            return group ? DropReason.NOT_UNICAST.ordinal()
                : v4(mem, descriptors, index, frame, length, l2, ip, rxFlags);
        }
        if (etherType == EthernetHeader.ETHER_TYPE_IPV6) {
            return v6(mem, descriptors, index, frame, length, l2, ip, rxFlags, group);
        }
        if (etherType == EthernetHeader.ETHER_TYPE_ARP) {
            return neighbour.arp(mem, descriptors, index, frame, length, l2);
        }
        return group ? DropReason.NOT_UNICAST.ordinal() : DropReason.NOT_IP.ordinal();
    }

    /**
     * IPv4: the fixed IP header and the TCP header's first 16 bytes are read as five words, once; every field, the
     * header checksum and the cookie's message come from them, not from further reads.
     */
    private int v4(final MemorySegment mem, final MemorySegment descriptors, final int index,
                   final long frame, final int length, final int l2, final long ip, final int rxFlags) {
        if (length < l2 + Ipv4Header.MIN_LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long w0 = getU64(mem, ip);                        // version+IHL, TOS, length | id, flags+fragment
        final long w1 = getU64(mem, ip + Ipv4Header.TTL_OFFSET); // TTL, protocol, checksum | source
        final int destination = getU32(mem, ip + Ipv4Header.DESTINATION_OFFSET);
        final int ihl = Ipv4Header.headerLength(w0);
        if (Ipv4Header.version(w0) != 4 || ihl < Ipv4Header.MIN_LENGTH) {
            return DropReason.BAD_IP_HEADER.ordinal();
        }
        if (length < l2 + ihl) {
            return DropReason.TRUNCATED.ordinal();
        }
        final int totalLength = Ipv4Header.totalLength(w0);
        if (totalLength < ihl) {
            return DropReason.BAD_IP_LENGTH.ordinal();
        }
        if (l2 + totalLength > length) {
            return DropReason.TRUNCATED.ordinal();
        }
        if ((rxFlags & FrameDescriptors.RX_IP_CHECKSUM_GOOD) == 0) {
            long sum = Checksum.sum64(w0) + Checksum.sum64(w1) + Checksum.sum32(destination);
            if (ihl > Ipv4Header.MIN_LENGTH) {
                sum += Checksum.sum(mem, ip + Ipv4Header.MIN_LENGTH, ihl - Ipv4Header.MIN_LENGTH);
            }
            if (!Checksum.verifies(sum)) {
                return DropReason.BAD_IP_CHECKSUM.ordinal();
            }
        }
        if (Ipv4Header.isFragment(w0)) {
            return DropReason.FRAGMENT.ordinal();
        }
        if (Ipv4Header.protocol(w1) != Ipv4Header.PROTOCOL_TCP) {
            return Ipv4Header.protocol(w1) == Ipv4Header.PROTOCOL_ICMP
                ? neighbour.pathMtuV4(mem, descriptors, index, frame, ip, ihl, totalLength, destination)
                : DropReason.NOT_TCP.ordinal();
        }
        final long tcp = ip + ihl;
        final int segmentLength = totalLength - ihl;
        if (segmentLength < TcpHeader.MIN_LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long t0 = getU64(mem, tcp);                                   // ports | sequence
        final long t1 = getU64(mem, tcp + TcpHeader.ACKNOWLEDGMENT_OFFSET); // ack | offset, flags, window
        if (!vips.containsV4(destination, TcpHeader.destinationPort(t0))) {
            return DropReason.NOT_VIP.ordinal();
        }
        final int tcpLength = TcpHeader.headerLength(t1);
        if (tcpLength < TcpHeader.MIN_LENGTH || tcpLength > segmentLength) {
            return DropReason.BAD_DATA_OFFSET.ordinal();
        }
        final int flags = TcpHeader.flags(t1);
        // Source and destination as one big-endian word: its byte-reverse is the cookie's little-endian block.
        final long addressesBe = (w1 << 32) | (destination & 0xffffffffL);
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK)) == TcpHeader.SYN) {
            return syn.v4(mem, descriptors, index, frame, length, l2, ip, tcp, segmentLength, tcpLength, flags,
                rxFlags, addressesBe, t0, t1);
        }
        final long addresses = Long.reverseBytes(addressesBe);
        final int ports = Integer.reverseBytes((int) (t0 >>> 32));
        final long flow = flowHash.v4(addresses, ports);
        if ((flags & (TcpHeader.ACK | TcpHeader.SYN | TcpHeader.RST)) == TcpHeader.ACK) {
            return ack.v4(mem, descriptors, index, frame, ip, totalLength, tcp, flow, addresses, ports, t0, t1);
        }
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == 0) {
            return DropReason.NO_ACK.ordinal();
        }
        counters.increment(EngineCounters.OTHER_FORWARDED);
        return encap.unmarked(mem, descriptors, index, frame, ip, false, totalLength, tcp, flow, EncapStage.TCP);
    }

    private int v6(final MemorySegment mem, final MemorySegment descriptors, final int index,
                   final long frame, final int length, final int l2, final long ip, final int rxFlags,
                   final boolean group) {
        if (length < l2 + Ipv6Header.LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        if (Ipv6Header.version(mem, ip) != 6) {
            return DropReason.BAD_IP_HEADER.ordinal();
        }
        final int packetLength = Ipv6Header.LENGTH + Ipv6Header.payloadLength(mem, ip);
        if (l2 + packetLength > length) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long end = ip + packetLength;
        int next = Ipv6Header.nextHeader(mem, ip);
        long tcp = ip + Ipv6Header.LENGTH;
        for (int skipped = 0; Ipv6Header.isSkippableExtension(next); skipped++) {
            if (skipped == MAX_IPV6_EXTENSIONS || tcp + Ipv6Header.EXTENSION_MIN_LENGTH > end) {
                return DropReason.IPV6_EXTENSIONS.ordinal();
            }
            next = Ipv6Header.extensionNextHeader(mem, tcp);
            tcp += Ipv6Header.extensionLength(mem, tcp);
            if (tcp > end) {
                return DropReason.IPV6_EXTENSIONS.ordinal();
            }
        }
        if (next == Ipv6Header.NEXT_FRAGMENT) {
            return DropReason.FRAGMENT.ordinal();
        }
        if (next == Icmpv6Header.NEXT_HEADER_ICMPV6) {
            if (!group && end - tcp >= IcmpError.QUOTED_OFFSET
                && IcmpError.type(mem, tcp) == IcmpError.TYPE_PACKET_TOO_BIG_V6) {
                return neighbour.pathMtuV6(mem, descriptors, index, frame, ip, tcp, packetLength);
            }
            return neighbour.neighbourSolicitation(mem, descriptors, index, frame, length, ip, tcp, (int) (end - tcp));
        }
        if (group) {
            return DropReason.NOT_UNICAST.ordinal();
        }
        if (next != Ipv6Header.NEXT_TCP) {
            return DropReason.NOT_TCP.ordinal();
        }
        final int segmentLength = (int) (end - tcp);
        if (segmentLength < TcpHeader.MIN_LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long vipHigh = getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET);
        final long vipLow = getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET + 8);
        if (!vips.containsV6(vipHigh, vipLow, TcpHeader.destinationPort(mem, tcp))) {
            return DropReason.NOT_VIP.ordinal();
        }
        final int tcpLength = TcpHeader.headerLength(mem, tcp);
        if (tcpLength < TcpHeader.MIN_LENGTH || tcpLength > segmentLength) {
            return DropReason.BAD_DATA_OFFSET.ordinal();
        }
        final int flags = TcpHeader.flags(mem, tcp);
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK)) == TcpHeader.SYN) {
            return syn.v6(mem, descriptors, index, frame, length, l2, ip, tcp, segmentLength, tcpLength, flags,
                rxFlags);
        }
        // The flow hash reads the addresses as little-endian message words, as the cookie does.
        final long a0 = Long.reverseBytes(getU64(mem, ip + Ipv6Header.SOURCE_OFFSET));
        final long a1 = Long.reverseBytes(getU64(mem, ip + Ipv6Header.SOURCE_OFFSET + 8));
        final long a2 = Long.reverseBytes(vipHigh);
        final long a3 = Long.reverseBytes(vipLow);
        final int ports = getLE32(mem, tcp);
        final long flow = flowHash.v6(a0, a1, a2, a3, ports);
        if ((flags & (TcpHeader.ACK | TcpHeader.SYN | TcpHeader.RST)) == TcpHeader.ACK) {
            return ack.v6(mem, descriptors, index, frame, ip, packetLength, tcp, tcpLength, flow, a0, a1, a2, a3,
                ports);
        }
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == 0) {
            return DropReason.NO_ACK.ordinal();
        }
        counters.increment(EngineCounters.OTHER_FORWARDED);
        return encap.unmarked(mem, descriptors, index, frame, ip, true, packetLength, tcp, flow, EncapStage.TCP);
    }
}
