package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;
import static io.synproxy.packet.Bytes.setU64;

import java.lang.foreign.MemorySegment;

/**
 * The proxy-to-backend encapsulation header (version 1), carried in UDP right before the client's IP packet. Its first
 * word has the shape of a GUE (draft-ietf-intarea-gue) variant-0 header, so dissectors and middleboxes see a familiar
 * layout; the flags and the optional fields are ours.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|0| Hlen = 3|  Proto 4 / 41 |H| Ver |     Epoch     |WScale |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Client MSS           |          reserved (0)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +   Authenticator: SipHash-2-4 under the backend's own key      +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   Hlen    length of the optional fields in 32-bit words (word 1 and the authenticator: 3)
 *   Proto   the inner packet: 4 = IPv4, 41 = IPv6 (there is no inner Ethernet header)
 *   H       1 = a handshake ACK whose cookie the proxy validated: the backend may create a socket from it
 *   Ver     1; a backend refuses every other version (counted)
 *   Epoch   with H: the low 8 bits of the salt epoch that issued the cookie; the backend refuses the packet once that
 *           epoch's grace is over by its own clock (plus the skew bound), so a captured marked packet cannot create
 *           sockets later. Else 0
 *   WScale  with H: the proxy's window scale, which its SYN-ACK offered if the client offered one (the cookie's
 *           WScale field says whether it did); the backend's receive scale (kfunc rcv_wscale). Else 0
 *   Client MSS  with H: the MSS the client announced, rounded down to the proxies' table (kfunc mss), so backends need
 *           no MSS table of their own. Else 0
 * </pre>
 *
 * The authenticator is SipHash-2-4 over this message (bytes as on the wire), keyed by the key of the backend the
 * packet is sent to ({@code io.synproxy.engine.BackendKeys}):
 * <pre>
 *   IPv4 inner (28 bytes): header words 0-1 (8) | IP source, destination (8)  | first 12 bytes of the transport header
 *   IPv6 inner (52 bytes): header words 0-1 (8) | IP source, destination (32) | first 12 bytes of the transport header
 * </pre>
 * The transport header starts after the IPv4 header's options or the IPv6 extension headers (hop-by-hop, routing,
 * destination options; the backend walks the same ones). For TCP the 12 bytes are the ports, seq and ack; for an ICMP
 * error (path MTU discovery) its type, code, checksum, the 4 bytes after them and the first 4 of the quoted packet.
 * So the mark, the MSS, the epoch, the flow, seq and ack cannot be changed or moved to another flow or backend without
 * the key. All 64 bits are kept (no truncation): a backend may face a line-rate flood of forged marked packets, and
 * 2<sup>-64</sup> per try leaves nothing to brute-force, where 32 bits would fall in minutes at 10 Mpps.
 */
public final class EncapHeader {
    public static final int FLAGS_WORD_OFFSET = 0;
    public static final int PROTOCOL_OFFSET = 1;
    public static final int FLAGS_OFFSET = 2;
    public static final int MSS_OFFSET = 4;
    public static final int AUTHENTICATOR_OFFSET = 8;
    public static final int LENGTH = 16;
    /** Version 0, C 0, Hlen 3: the first byte. */
    public static final int FIRST_BYTE = 0x03;
    /** Hlen 9: a chained header, naming the flow's previous owner (see {@code io.synproxy.engine.ChainedHeader}). */
    public static final int FIRST_BYTE_CHAINED = 0x09;
    /** A chained header's length: the plain 16 bytes, the previous owner's authenticator and its address. */
    public static final int CHAINED_LENGTH = 40;
    /** In word 1's low half: a previous owner follows (chained header). */
    public static final int FLAG_PREVIOUS = 0x8000;
    public static final int PREVIOUS_AUTHENTICATOR_OFFSET = 16;
    public static final int PREVIOUS_ADDRESS_OFFSET = 24;
    public static final int PROTOCOL_IPV4 = 4;
    public static final int PROTOCOL_IPV6 = 41;
    public static final int FLAG_HANDSHAKE = 0x8000;
    public static final int VERSION = 1;
    public static final int VERSION_SHIFT = 12;
    public static final int EPOCH_SHIFT = 4;
    public static final int EPOCH_MASK = 0xff;
    public static final int WSCALE_MASK = 0x000f;
    /** Bytes of the transport header the authenticator covers. */
    public static final int TRANSPORT_BYTES = 12;
    /** The UDP port registered for GUE; the default, configurable. */
    public static final int DEFAULT_PORT = 6080;

    private EncapHeader() {
    }

    /** The flags of an unmarked packet: the version alone. */
    public static int unmarkedFlags() {
        return VERSION << VERSION_SHIFT;
    }

    /** The flags of a handshake ACK: H, the version, the cookie's epoch (low 8 bits) and our window scale. */
    public static int handshakeFlags(final long epoch, final int windowScale) {
        return FLAG_HANDSHAKE | (VERSION << VERSION_SHIFT) | (((int) epoch & EPOCH_MASK) << EPOCH_SHIFT)
            | (windowScale & WSCALE_MASK);
    }

    /** The header's first word: constant layout, inner protocol and flags. */
    public static int firstWord(final int innerProtocol, final int flags) {
        return (FIRST_BYTE << 24) | (innerProtocol << 16) | flags;
    }

    /** A chained header's first word: Hlen 9, the inner protocol, unmarked. */
    public static int chainedFirstWord(final int innerProtocol) {
        return (FIRST_BYTE_CHAINED << 24) | (innerProtocol << 16) | unmarkedFlags();
    }

    /** The header's second word: the client's MSS, then the reserved half. */
    public static int secondWord(final int mss) {
        return mss << 16;
    }

    /** The authenticator message's first block: header words 0 and 1 as they sit on the wire, read little-endian. */
    public static long firstBlock(final int firstWord, final int secondWord) {
        return Long.reverseBytes(((long) firstWord << 32) | (secondWord & 0xffffffffL));
    }

    /**
     * The message's last block: transport header bytes 8-11 (read little-endian) and the message length, as SipHash
     * pads.
     */
    public static long lastBlock(final int transportTail, final boolean innerV6) {
        return (transportTail & 0xffffffffL) | ((long) (innerV6 ? 52 : 28) << 56);
    }

    public static void write(final MemorySegment segment, final long header, final int firstWord,
                             final int secondWord, final long authenticator) {
        setU64(segment, header, ((long) firstWord << 32) | (secondWord & 0xffffffffL));
        setU64(segment, header + AUTHENTICATOR_OFFSET, authenticator);
    }

    public static int protocol(final MemorySegment segment, final long header) {
        return getU8(segment, header + PROTOCOL_OFFSET) & 0xff;
    }

    public static int flags(final MemorySegment segment, final long header) {
        return getU16(segment, header + FLAGS_OFFSET) & 0xffff;
    }

    public static int mss(final MemorySegment segment, final long header) {
        return getU16(segment, header + MSS_OFFSET) & 0xffff;
    }

    public static long authenticator(final MemorySegment segment, final long header) {
        return getU64(segment, header + AUTHENTICATOR_OFFSET);
    }

    /** The whole first word (for tests and dissectors). */
    public static int firstWord(final MemorySegment segment, final long header) {
        return getU32(segment, header);
    }
}
