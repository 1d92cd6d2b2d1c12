package io.synproxy.engine;


import static io.synproxy.packet.Bytes.setU64;

import io.synproxy.cookie.SipHash;
import io.synproxy.packet.EncapHeader;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import java.lang.foreign.MemorySegment;

/**
 * The chained encapsulation header (daisy chaining, Beamer): an unmarked packet of a Maglev slot that changed hands
 * names its previous owner, so the new owner's program can hand it over when it has no socket for the flow.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|0| Hlen = 9|  Proto 4 / 41 |0| Ver |   Epoch 0     |   0   |   word 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              0                |P|          reserved 0         |   word 1 (P = 1)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  A1: SipHash-2-4 under the receiving backend's key, 64 bits   |   words 2-3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  A2: SipHash-2-4 under the previous owner's key, 64 bits      |   words 4-5
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Previous owner's address: IPv6, or IPv4-mapped (::ffff:a.b.c.d), 128 bits                     |   words 6-9
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   A1 covers  words 0-1 || previous owner || inner addresses || first 12 inner L4 bytes   (44 / 68 bytes)
 *   A2 covers  the plain header the previous owner will receive (Hlen 3, word 1 zero), words 0-1 ||
 *              inner addresses || first 12 inner L4 bytes                                    (28 / 52 bytes)
 * </pre>
 * The new owner verifies A1 with its own key; with no socket for the flow it rewrites the packet into the plain
 * header with A2, sends it to the previous owner (outer source kept: the proxy's), which verifies A2 with its own key
 * and delivers it to the socket it has. Each backend holds only its own key: the proxy computes both authenticators.
 * A1 is computed here, one packet at a time (chained packets are those of the slots that moved); A2 with the burst's
 * others ({@link AuthLanes}), as it has the plain message's shape.
 */
final class ChainedHeader {
    private static final int MAX_MESSAGE = 8 + 16 + 32 + EncapHeader.TRANSPORT_BYTES;
    private static final long IPV4_MAPPED = 0x0000ffff00000000L;

    private final byte[] message = new byte[MAX_MESSAGE];
    private final MemorySegment scratch = MemorySegment.ofArray(message);

    /** Writes the previous owner's address into the header (IPv4 as IPv4-mapped). */
    static void writePrevious(final MemorySegment mem, final long header, final BackendTable table,
                              final int previous) {
        final long at = header + EncapHeader.PREVIOUS_ADDRESS_OFFSET;
        if (table.isV6(previous)) {
            setU64(mem, at, table.addressHigh(previous));
            setU64(mem, at + 8, table.addressLow(previous));
        } else {
            setU64(mem, at, 0);
            setU64(mem, at + 8, IPV4_MAPPED | (table.addressV4(previous) & 0xffffffffL));
        }
    }

    /**
     * A1 over the header's words 0-1 and previous owner (already written at {@code header}), the inner addresses
     * and the first 12 bytes of the inner transport header, under the receiving backend's key.
     */
    long receiverAuthenticator(final MemorySegment mem, final long header, final long ip, final boolean innerV6,
                               final long transport, final long k0, final long k1) {
        MemorySegment.copy(mem, header, scratch, 0, 8);
        MemorySegment.copy(mem, header + EncapHeader.PREVIOUS_ADDRESS_OFFSET, scratch, 8, 16);
        final int addresses = innerV6 ? 32 : 8;
        MemorySegment.copy(mem, ip + (innerV6 ? Ipv6Header.SOURCE_OFFSET : Ipv4Header.SOURCE_OFFSET), scratch, 24,
            addresses);
        MemorySegment.copy(mem, transport, scratch, 24 + addresses, EncapHeader.TRANSPORT_BYTES);
        return SipHash.hash(k0, k1, message, 0, 24 + addresses + EncapHeader.TRANSPORT_BYTES);
    }
}
