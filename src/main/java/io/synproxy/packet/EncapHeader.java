package io.synproxy.packet;

import static io.synproxy.packet.Bytes.U16;
import static io.synproxy.packet.Bytes.U32;
import static io.synproxy.packet.Bytes.U64;
import static io.synproxy.packet.Bytes.U8;

import java.lang.foreign.MemorySegment;

/**
 * The proxy-to-backend encapsulation header, carried in UDP right before the client's IP packet. Its first word has
 * the shape of a GUE (draft-ietf-intarea-gue) variant-0 header, so dissectors and middleboxes see a familiar layout;
 * the flags and the one optional field are ours.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|0| Hlen = 2|  Proto 4 / 41 |H|         reserved    |WScale |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +        Authenticator: SipHash-2-4 (proxy-backend key)         +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   Hlen    length of the optional fields in 32-bit words (the authenticator: 2)
 *   Proto   the inner packet: 4 = IPv4, 41 = IPv6 (there is no inner Ethernet header)
 *   H       1 = a handshake ACK whose cookie the proxy validated: the backend may create a socket from it
 *   WScale  with H: the proxy's window scale, which its SYN-ACK offered if the client offered one (the cookie's
 *           WScale field says whether it did); the backend's receive scale (kfunc rcv_wscale). Else 0
 * </pre>
 *
 * The authenticator is SipHash-2-4 keyed by the proxy-backend key over this message (bytes as on the wire):
 * <pre>
 *   IPv4 inner (24 bytes): header word 0 (4) | TCP ack (4) | IP source, destination (8) | TCP ports, seq (8)
 *   IPv6 inner (48 bytes): header word 0 (4) | TCP ack (4) | IP source, destination (32) | TCP ports, seq (8)
 * </pre>
 * so the mark, the flow, seq and ack cannot be changed or replayed onto another flow without the key. All 64 bits are
 * kept (no truncation): a backend may face a line-rate flood of forged marked packets, and 2<sup>-64</sup> per try
 * leaves nothing to brute-force, where 32 bits would fall in minutes at 10 Mpps.
 */
public final class EncapHeader {
    public static final int FLAGS_WORD_OFFSET = 0;
    public static final int PROTOCOL_OFFSET = 1;
    public static final int FLAGS_OFFSET = 2;
    public static final int AUTHENTICATOR_OFFSET = 4;
    public static final int LENGTH = 12;
    /** Version 0, C 0, Hlen 2: the first byte. */
    public static final int FIRST_BYTE = 0x02;
    public static final int PROTOCOL_IPV4 = 4;
    public static final int PROTOCOL_IPV6 = 41;
    public static final int FLAG_HANDSHAKE = 0x8000;
    public static final int WSCALE_MASK = 0x000f;
    /** The UDP port registered for GUE; the default, configurable. */
    public static final int DEFAULT_PORT = 6080;

    private EncapHeader() {
    }

    /** The header's first word: constant layout, inner protocol and flags. */
    public static int firstWord(final int innerProtocol, final int flags) {
        return (FIRST_BYTE << 24) | (innerProtocol << 16) | flags;
    }

    public static void write(final MemorySegment segment, final long header, final int firstWord,
                             final long authenticator) {
        segment.set(U32, header, firstWord);
        segment.set(U64, header + AUTHENTICATOR_OFFSET, authenticator);
    }

    public static int protocol(final MemorySegment segment, final long header) {
        return segment.get(U8, header + PROTOCOL_OFFSET) & 0xff;
    }

    public static int flags(final MemorySegment segment, final long header) {
        return segment.get(U16, header + FLAGS_OFFSET) & 0xffff;
    }

    public static long authenticator(final MemorySegment segment, final long header) {
        return segment.get(U64, header + AUTHENTICATOR_OFFSET);
    }
}
