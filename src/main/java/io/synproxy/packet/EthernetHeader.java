package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.setU16;
import static io.synproxy.packet.Bytes.setU32;
import static io.synproxy.packet.Bytes.setU64;

import java.lang.foreign.MemorySegment;

/**
 * Ethernet II, with at most one 802.1Q tag.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination MAC address                    |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                      Source MAC address                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   EtherType (or TPID 0x8100)  |  802.1Q: PCP|D|  VLAN ID      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  802.1Q: inner EtherType      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * MAC addresses are handled as the low 48 bits of a {@code long}, most significant byte first.
 */
public final class EthernetHeader {
    public static final int DESTINATION_OFFSET = 0;
    public static final int SOURCE_OFFSET = 6;
    public static final int ETHER_TYPE_OFFSET = 12;
    public static final int LENGTH = 14;
    public static final int VLAN_TAG_LENGTH = 4;
    public static final int TAGGED_ETHER_TYPE_OFFSET = ETHER_TYPE_OFFSET + VLAN_TAG_LENGTH;
    public static final int ETHER_TYPE_IPV4 = 0x0800;
    public static final int ETHER_TYPE_IPV6 = 0x86dd;
    public static final int ETHER_TYPE_ARP = 0x0806;
    public static final int ETHER_TYPE_VLAN = 0x8100;
    /** The smallest frame Ethernet carries, without the FCS: shorter frames are padded to it. */
    public static final int MIN_FRAME_LENGTH = 60;

    private EthernetHeader() {
    }

    public static long mac(final MemorySegment segment, final long offset) {
        return ((getU16(segment, offset) & 0xffffL) << 32) | (getU32(segment, offset + 2) & 0xffffffffL);
    }

    public static void putMac(final MemorySegment segment, final long offset, final long mac) {
        setU16(segment, offset, (short) (mac >>> 32));
        setU32(segment, offset + 2, (int) mac);
    }

    public static long destination(final MemorySegment segment, final long frame) {
        return mac(segment, frame + DESTINATION_OFFSET);
    }

    public static long source(final MemorySegment segment, final long frame) {
        return mac(segment, frame + SOURCE_OFFSET);
    }

    /** Group (multicast or broadcast) addresses have the least significant bit of the first byte set. */
    public static boolean isGroup(final long mac) {
        return (mac & (1L << 40)) != 0;
    }

    public static int etherType(final MemorySegment segment, final long frame) {
        return getU16(segment, frame + ETHER_TYPE_OFFSET) & 0xffff;
    }

    /** Writes destination, source and EtherType of an untagged header. */
    public static void write(final MemorySegment segment, final long frame, final long destination,
                             final long source, final int etherType) {
        // 14 bytes in two stores: destination and the source's first two bytes, then the source's last four and the
        // EtherType (MACs are the 48 low bits of their longs).
        setU64(segment, frame, (destination << 16) | ((source >>> 32) & 0xffff));
        setU64(segment, frame + 6, (source << 16) | (etherType & 0xffff));
    }

    public static String format(final long mac) {
        final StringBuilder text = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            if (text.length() > 0) {
                text.append(':');
            }
            text.append(String.format("%02x", (mac >>> shift) & 0xff));
        }
        return text.toString();
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff}; throws {@link IllegalArgumentException} otherwise. */
    public static long parse(final String text) {
        final String[] parts = text.split(":", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long mac = 0;
        for (final String part : parts) {
            if (part.length() != 2) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            mac = (mac << 8) | java.util.HexFormat.fromHexDigits(part);
        }
        return mac;
    }
}
