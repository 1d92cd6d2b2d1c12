package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getLE32;
import static io.synproxy.packet.Bytes.getLE64;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;

import io.synproxy.packet.IcmpError;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import java.lang.foreign.MemorySegment;

/**
 * Path MTU discovery for the VIPs' flows. Backends answer clients straight from the VIP, so a router's "fragmentation
 * needed" or "packet too big" about such a reply comes back to the VIP, that is to us. It must reach the backend
 * whose socket sent the packet, or the client behind the smaller link stalls (IPv6 routers never fragment). The
 * quoted packet is VIP to client: its tuple turned around is the flow's own, and hashes to the same Maglev pick as
 * the flow's packets. This stage checks an error's bounds and the quoted flow; the engine then sends it unmarked to
 * that backend, whose program passes it to its kernel (which checks it against the socket's sequence space).
 */
final class PathMtu {
    private final VipTable vips;
    private final FlowHash flowHash;
    /** The quoted flow's hash, after {@link #checkV4} or {@link #checkV6} accepted an error. */
    long flow;

    PathMtu(final VipTable vips, final FlowHash flowHash) {
        this.vips = vips;
        this.flowHash = flowHash;
    }

    /**
     * An ICMP message to a VIP address: accepted (NONE, {@link #flow} set) only if it is a "fragmentation needed" that
     * quotes TCP from a VIP address and port, all of it inside the packet.
     *
     * @param icmp     where the ICMP header starts
     * @param end      the end of the IP packet
     * @param receiver the packet's destination address, big-endian
     */
    int checkV4(final MemorySegment mem, final long icmp, final long end, final int receiver) {
        final long quoted = icmp + IcmpError.QUOTED_OFFSET;
        if (quoted + Ipv4Header.MIN_LENGTH > end) {
            return DropReason.ICMP_IGNORED.ordinal();
        }
        if (IcmpError.type(mem, icmp) != IcmpError.TYPE_DESTINATION_UNREACHABLE
            || IcmpError.code(mem, icmp) != IcmpError.CODE_FRAGMENTATION_NEEDED) {
            return DropReason.ICMP_IGNORED.ordinal();
        }
        final int versionIhl = getU8(mem, quoted) & 0xff;
        final int ihl = (versionIhl & 0x0f) * 4;
        if (versionIhl >>> 4 != 4 || ihl < Ipv4Header.MIN_LENGTH
            || quoted + ihl + IcmpError.QUOTED_TRANSPORT_MIN > end) {
            return DropReason.ICMP_IGNORED.ordinal();
        }
        final long transport = quoted + ihl;
        final int vip = getU32(mem, quoted + Ipv4Header.SOURCE_OFFSET);
        if ((getU8(mem, quoted + Ipv4Header.PROTOCOL_OFFSET) & 0xff) != Ipv4Header.PROTOCOL_TCP || vip != receiver
            || !vips.containsV4(vip, TcpHeader.sourcePort(mem, transport))) {
            return DropReason.ICMP_IGNORED.ordinal();
        }
        // The quoted addresses and ports are VIP then client: swapped, they are the flow's as its packets carry them.
        flow = flowHash.v4(Long.rotateLeft(getLE64(mem, quoted + Ipv4Header.SOURCE_OFFSET), 32),
            Integer.rotateLeft(getLE32(mem, transport), 16));
        return DropReason.NONE.ordinal();
    }

    /**
     * A "packet too big" (the caller checked the type) to a VIP address, quoting TCP (directly after the fixed
     * header, as our backends send it) from a VIP address and port.
     *
     * @param ip the outer IPv6 header (its destination must be the quoted source)
     */
    int checkV6(final MemorySegment mem, final long ip, final long icmp, final long end) {
        final long quoted = icmp + IcmpError.QUOTED_OFFSET;
        final long transport = quoted + Ipv6Header.LENGTH;
        if (transport + IcmpError.QUOTED_TRANSPORT_MIN > end) {
            return DropReason.ICMP_IGNORED.ordinal();
        }
        final long vipHigh = getU64(mem, quoted + Ipv6Header.SOURCE_OFFSET);
        final long vipLow = getU64(mem, quoted + Ipv6Header.SOURCE_OFFSET + 8);
        if (Ipv6Header.version(mem, quoted) != 6 || Ipv6Header.nextHeader(mem, quoted) != Ipv6Header.NEXT_TCP
            || vipHigh != getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET)
            || vipLow != getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET + 8)
            || !vips.containsV6(vipHigh, vipLow, TcpHeader.sourcePort(mem, transport))) {
            return DropReason.ICMP_IGNORED.ordinal();
        }
        flow = flowHash.v6(getLE64(mem, quoted + Ipv6Header.DESTINATION_OFFSET),
            getLE64(mem, quoted + Ipv6Header.DESTINATION_OFFSET + 8), Long.reverseBytes(vipHigh),
            Long.reverseBytes(vipLow), Integer.rotateLeft(getLE32(mem, transport), 16));
        return DropReason.NONE.ordinal();
    }
}
