package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;
import static io.synproxy.packet.Bytes.setU16;
import static io.synproxy.packet.Bytes.setU32;
import static io.synproxy.packet.Bytes.setU64;
import static io.synproxy.packet.Bytes.setU8;

import io.synproxy.packet.ArpHeader;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.Icmpv6Header;
import io.synproxy.packet.Ipv6Header;
import java.lang.foreign.MemorySegment;

/**
 * Answers ARP requests and IPv6 neighbour solicitations for the VIPs and the proxy's own addresses, in place, so
 * routers on a real L2 segment can deliver to the proxy. Rare frames, off the TCP path.
 *
 * <p>Results: a non-negative value is the reply's frame length (send it back out of the receiving port); a negative
 * value is minus a {@link DropReason} ordinal.
 */
final class NeighbourResponder {
    private static final int ARP_REPLY_LENGTH = EthernetHeader.LENGTH + ArpHeader.LENGTH;
    private static final int NA_LENGTH = Ipv6Header.LENGTH + Icmpv6Header.NEIGHBOUR_MESSAGE_LENGTH + 8;

    private final VipTable owned;

    NeighbourResponder(final VipTable owned) {
        this.owned = owned;
    }

    /** @param localMac the receiving port's MAC, or -1 if unknown */
    int arp(final MemorySegment mem, final long frame, final int length, final int l2, final int tailroom,
            final long localMac) {
        final long arp = frame + l2;
        if (length < l2 + ArpHeader.LENGTH) {
            return -DropReason.TRUNCATED.ordinal();
        }
        if ((getU64(mem, arp) >>> 16) != ArpHeader.ETHERNET_IPV4_PREFIX
            || (getU16(mem, arp + ArpHeader.OPERATION_OFFSET) & 0xffff) != ArpHeader.REQUEST) {
            return -DropReason.ARP_IGNORED.ordinal();
        }
        final int target = getU32(mem, arp + ArpHeader.TARGET_IP_OFFSET);
        if (!owned.ownsV4(target)) {
            return -DropReason.ARP_IGNORED.ordinal();
        }
        final int sender = getU32(mem, arp + ArpHeader.SENDER_IP_OFFSET);
        if (Martians.v4(sender) || owned.ownsV4(sender)) {
            // A reply would teach nothing to no one, or answer someone claiming our own address.
            return -DropReason.MARTIAN_SOURCE.ordinal();
        }
        final long mac = localMac >= 0 ? localMac : unicastDestination(mem, frame);
        if (mac < 0) {
            return -DropReason.NO_LOCAL_MAC.ordinal();
        }
        final int outLength = Math.max(l2 + ArpHeader.LENGTH, EthernetHeader.MIN_FRAME_LENGTH);
        if (outLength > length + tailroom) {
            return -DropReason.NO_ROOM.ordinal();
        }
        final long senderMac = EthernetHeader.mac(mem, arp + ArpHeader.SENDER_MAC_OFFSET);
        final int senderIp = sender;
        EthernetHeader.putMac(mem, frame + EthernetHeader.DESTINATION_OFFSET, senderMac);
        EthernetHeader.putMac(mem, frame + EthernetHeader.SOURCE_OFFSET, mac);
        setU16(mem, arp + ArpHeader.OPERATION_OFFSET, (short) ArpHeader.REPLY);
        EthernetHeader.putMac(mem, arp + ArpHeader.SENDER_MAC_OFFSET, mac);
        setU32(mem, arp + ArpHeader.SENDER_IP_OFFSET, target);
        EthernetHeader.putMac(mem, arp + ArpHeader.TARGET_MAC_OFFSET, senderMac);
        setU32(mem, arp + ArpHeader.TARGET_IP_OFFSET, senderIp);
        pad(mem, frame, l2 + ArpHeader.LENGTH, outLength);
        return outLength;
    }

    /**
     * A neighbour solicitation in an ICMPv6 message at {@code icmp} of {@code icmpLength} bytes, in the IPv6 packet
     * at {@code ip} (its fixed header: extension headers are not expected on ND and are dropped by the caller's
     * position check).
     */
    int neighbourSolicitation(final MemorySegment mem, final long frame, final int length, final long ip,
                              final long icmp, final int icmpLength, final int tailroom, final long localMac) {
        if (icmp != ip + Ipv6Header.LENGTH || icmpLength < Icmpv6Header.NEIGHBOUR_MESSAGE_LENGTH
            || (getU8(mem, icmp) & 0xff) != Icmpv6Header.TYPE_NEIGHBOUR_SOLICITATION
            || getU8(mem, icmp + 1) != 0
            || (getU8(mem, ip + Ipv6Header.HOP_LIMIT_OFFSET) & 0xff) != Icmpv6Header.ND_HOP_LIMIT) {
            return -DropReason.ND_IGNORED.ordinal();
        }
        final long sourceHigh = getU64(mem, ip + Ipv6Header.SOURCE_OFFSET);
        final long sourceLow = getU64(mem, ip + Ipv6Header.SOURCE_OFFSET + 8);
        final long targetHigh = getU64(mem, icmp + Icmpv6Header.TARGET_OFFSET);
        final long targetLow = getU64(mem, icmp + Icmpv6Header.TARGET_OFFSET + 8);
        // Duplicate address detection (source ::) is another host probing for our address: not answered here.
        if ((sourceHigh == 0 && sourceLow == 0) || !owned.ownsV6(targetHigh, targetLow)) {
            return -DropReason.ND_IGNORED.ordinal();
        }
        if (Martians.v6(sourceHigh, sourceLow) || owned.ownsV6(sourceHigh, sourceLow)) {
            return -DropReason.MARTIAN_SOURCE.ordinal();
        }
        final long pseudo = Checksum.sum(mem, ip + Ipv6Header.SOURCE_OFFSET, 32)
            + Icmpv6Header.NEXT_HEADER_ICMPV6 + icmpLength;
        if (!Checksum.verifies(pseudo + Checksum.sum(mem, icmp, icmpLength))) {
            return -DropReason.ND_IGNORED.ordinal();
        }
        final long mac = localMac >= 0 ? localMac : unicastDestination(mem, frame);
        if (mac < 0) {
            return -DropReason.NO_LOCAL_MAC.ordinal();
        }
        final int l2 = (int) (ip - frame);
        final int outLength = l2 + NA_LENGTH;
        if (outLength > length + tailroom) {
            return -DropReason.NO_ROOM.ordinal();
        }
        final long clientMac = EthernetHeader.source(mem, frame);
        EthernetHeader.putMac(mem, frame + EthernetHeader.DESTINATION_OFFSET, clientMac);
        EthernetHeader.putMac(mem, frame + EthernetHeader.SOURCE_OFFSET, mac);
        final int icmpOut = Icmpv6Header.NEIGHBOUR_MESSAGE_LENGTH + 8;
        Ipv6Header.write(mem, ip, 0, 0, icmpOut, Icmpv6Header.NEXT_HEADER_ICMPV6, Icmpv6Header.ND_HOP_LIMIT,
            targetHigh, targetLow, sourceHigh, sourceLow);
        setU32(mem, icmp, Icmpv6Header.TYPE_NEIGHBOUR_ADVERTISEMENT << 24);
        setU32(mem, icmp + Icmpv6Header.FLAGS_OFFSET, Icmpv6Header.FLAGS_SOLICITED_OVERRIDE);
        setU64(mem, icmp + Icmpv6Header.TARGET_OFFSET, targetHigh);
        setU64(mem, icmp + Icmpv6Header.TARGET_OFFSET + 8, targetLow);
        final long option = icmp + Icmpv6Header.NEIGHBOUR_MESSAGE_LENGTH;
        setU16(mem, option, (short) ((Icmpv6Header.OPTION_TARGET_LINK_LAYER << 8) | 1));
        EthernetHeader.putMac(mem, option + 2, mac);
        final long outPseudo = Checksum.sum(mem, ip + Ipv6Header.SOURCE_OFFSET, 32)
            + Icmpv6Header.NEXT_HEADER_ICMPV6 + icmpOut;
        setU16(mem, icmp + Icmpv6Header.CHECKSUM_OFFSET,
            (short) Checksum.finish(outPseudo + Checksum.sum(mem, icmp, icmpOut)));
        return outLength;
    }

    /** The frame's destination MAC when it is unicast (it was addressed to us), else -1. */
    private static long unicastDestination(final MemorySegment mem, final long frame) {
        final long destination = EthernetHeader.destination(mem, frame);
        return EthernetHeader.isGroup(destination) ? -1 : destination;
    }

    private static void pad(final MemorySegment mem, final long frame, final int from, final int to) {
        for (long at = frame + from; at < frame + to; at++) {
            setU8(mem, at, (byte) 0);
        }
    }
}
