package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;

import io.synproxy.config.IpAddress;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.Icmpv6Header;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The exception path's stage: of the frames the proxy itself has no use for, which the host's kernel gets (through
 * the port's host interface) and in which class. It runs only on frames the engine has already refused, so the
 * VIP fast path never pays for it.
 *
 * <ul>
 *   <li>{@link #CONTROL}: ARP, IPv6 neighbour discovery (hop limit 255, so never from off the link), and frames
 *       from the configured control peers (BGP, BFD) to a host address. Never rate limited.</li>
 *   <li>{@link #OTHER}: anything else to a host address (or to the link-local unicast range: the interface's own),
 *       and, when the configuration passes it, traffic for neither a VIP nor the host. Rate limited.</li>
 * </ul>
 * Traffic to a VIP address or an encapsulation source never goes to the host, whatever its port or protocol: a
 * flood to a VIP must not reach the kernel.
 */
public final class HostPath {
    /** Not for the host: keep the engine's drop. */
    public static final int NONE = 0;
    public static final int CONTROL = 1;
    public static final int OTHER = 2;

    private static final int ND_FIRST_TYPE = 133; // router solicitation
    private static final int ND_LAST_TYPE = 137;  // redirect
    private static final int ND_HOP_LIMIT = 255;

    private final VipTable vips;
    private final int[] hostV4;
    private final long[] hostV6;
    private final int[] peersV4;
    private final long[] peersV6;
    private final boolean passOther;

    HostPath(final VipTable vips, final List<IpAddress> hostAddresses, final List<IpAddress> controlPeers,
             final boolean passOther) {
        this.vips = vips;
        this.hostV4 = hostAddresses.stream().filter(a -> !a.v6()).mapToInt(IpAddress::v4).toArray();
        this.hostV6 = hostAddresses.stream().filter(IpAddress::v6).flatMapToLong(a -> java.util.stream.LongStream.of(
            a.high(), a.low())).toArray();
        this.peersV4 = controlPeers.stream().filter(a -> !a.v6()).mapToInt(IpAddress::v4).toArray();
        this.peersV6 = controlPeers.stream().filter(IpAddress::v6).flatMapToLong(a -> java.util.stream.LongStream.of(
            a.high(), a.low())).toArray();
        this.passOther = passOther;
    }

    /** Whether a frame the engine refused for this reason may still be the host's. */
    static boolean eligible(final int reason) {
        return reason == DropReason.NOT_VIP.ordinal() || reason == DropReason.NOT_TCP.ordinal()
            || reason == DropReason.NOT_IP.ordinal() || reason == DropReason.NOT_UNICAST.ordinal()
            || reason == DropReason.ARP_IGNORED.ordinal() || reason == DropReason.ND_IGNORED.ordinal()
            || reason == DropReason.FRAGMENT.ordinal();
    }

    /** The class of an untagged frame of {@code length} bytes at {@code frame}: {@link #NONE} keeps the drop. */
    int classify(final MemorySegment mem, final long frame, final int length) {
        if (length < EthernetHeader.LENGTH) {
            return NONE;
        }
        final int etherType = EthernetHeader.etherType(mem, frame);
        final long ip = frame + EthernetHeader.LENGTH;
        if (etherType == EthernetHeader.ETHER_TYPE_ARP) {
            return CONTROL;
        }
        if (etherType == EthernetHeader.ETHER_TYPE_IPV4 && length >= EthernetHeader.LENGTH + Ipv4Header.MIN_LENGTH
            && (getU8(mem, ip) >>> 4) == 4) {
            final int destination = getU32(mem, ip + Ipv4Header.DESTINATION_OFFSET);
            if (vips.ownsV4(destination)) {
                return NONE;
            }
            if (contains(hostV4, destination)) {
                return contains(peersV4, getU32(mem, ip + Ipv4Header.SOURCE_OFFSET)) ? CONTROL : OTHER;
            }
            return passOther ? OTHER : NONE;
        }
        if (etherType == EthernetHeader.ETHER_TYPE_IPV6 && length >= EthernetHeader.LENGTH + Ipv6Header.LENGTH
            && (getU8(mem, ip) >>> 4) == 6) {
            final long high = getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET);
            final long low = getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET + 8);
            if (vips.ownsV6(high, low)) {
                return NONE;
            }
            if (Ipv6Header.nextHeader(mem, ip) == Icmpv6Header.NEXT_HEADER_ICMPV6
                && length > EthernetHeader.LENGTH + Ipv6Header.LENGTH
                && (getU8(mem, ip + Ipv6Header.HOP_LIMIT_OFFSET) & 0xff) == ND_HOP_LIMIT) {
                final int type = getU8(mem, ip + Ipv6Header.LENGTH) & 0xff;
                if (type >= ND_FIRST_TYPE && type <= ND_LAST_TYPE) {
                    return CONTROL;
                }
            }
            // fe80::/10: link-local unicast; on this link, to our MAC, it is the host interface's own address.
            if (containsV6(hostV6, high, low) || (high >>> 54) == 0x3fa) {
                return containsV6(peersV6, getU64(mem, ip + Ipv6Header.SOURCE_OFFSET),
                    getU64(mem, ip + Ipv6Header.SOURCE_OFFSET + 8)) ? CONTROL : OTHER;
            }
            return passOther ? OTHER : NONE;
        }
        return passOther ? OTHER : NONE;
    }

    private static boolean contains(final int[] addresses, final int address) {
        for (final int a : addresses) {
            if (a == address) {
                return true;
            }
        }
        return false;
    }

    private static boolean containsV6(final long[] addresses, final long high, final long low) {
        for (int i = 0; i < addresses.length; i += 2) {
            if (addresses[i] == high && addresses[i + 1] == low) {
                return true;
            }
        }
        return false;
    }
}
