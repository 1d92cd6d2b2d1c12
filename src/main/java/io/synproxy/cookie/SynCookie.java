package io.synproxy.cookie;

/**
 * The SYN cookie: the 32-bit ISN of our SYN-ACK, which the client's ACK returns as {@code ack - 1}.
 *
 * <pre>
 *  31                                              9   8   7   6   5   4   3       0
 * +-------------------------------------------------+---+-------+---+---+-----------+
 * |                  MAC (23 bits)                  | E |  MSS  |ECN|SAK|  WScale   |
 * +-------------------------------------------------+---+-------+---+---+-----------+
 *   E       parity of the salt epoch that issued the cookie (picks the key to validate with)
 *   MSS     index into the MSS table of the address family: the client's MSS rounded down to an entry
 *   ECN     the SYN carried ECE and CWR, and ECN is enabled
 *   SAK     the SYN offered SACK-permitted, and SACK is enabled
 *   WScale  the client's window scale, 0..14 (a larger value counts as 14); 15 = not offered or disabled
 * </pre>
 *
 * <p>The option bits ride in clear so the backend can rebuild the connection's options without timestamps. The MAC is
 * the top 23 bits of SipHash-2-4, keyed by the epoch's salt, over this message (multi-byte fields in network order,
 * exactly as they sit in the packet):
 * <pre>
 *   IPv4 (18 bytes): source address (4) | destination address (4) | source port (2) | destination port (2) |
 *                    client ISN (4) | option bits 8..0 (2, little-endian)
 *   IPv6 (42 bytes): source address (16) | destination address (16) | ports and client ISN as above | option bits
 * </pre>
 * Addresses and ports are the client's SYN's (client to VIP). Every input to the MAC, and the option bits, is covered:
 * flipping any bit of the tuple, the client ISN or the cookie makes a different MAC.
 *
 * <p><b>Our TSval.</b> When the client offers timestamps, our SYN-ACK's TSval is the low 32 bits of the same SipHash
 * output (bits the MAC does not use). It is per connection and unpredictable, so it shows nothing of our clock (a
 * TSval derived from the clock would let anyone read the proxy's time from {@code TSval - ISN}), and the client echoes
 * it as TSecr on every segment, so the ACK's TSecr is checked too: 32 more MAC bits.
 *
 * <p><b>Forgery odds, per forged ACK</b> (an attacker who does not know the salt; the parity bit names one key, and at
 * most two near a boundary, so at most two MACs are tried per ACK):
 * <ul>
 *   <li>ACK with a timestamp option: 23 + 32 = 55 bits must match: 2<sup>-55</sup> (x2 near a boundary). At 10 Mpps of
 *       forgeries, one success in about a century.</li>
 *   <li>ACK without a timestamp option (the client did not offer timestamps, or the attacker left it out): 23 bits:
 *       2<sup>-23</sup> (about 1.2 in 10 million; x2 near a boundary). At 10 Mpps about one accepted forgery a second,
 *       each of which costs the backend one socket from a spoofed source, no more than a real handshake.</li>
 * </ul>
 * A forger chooses whether to send the option, so the floor is the second line; what timestamps buy is that no
 * forgery carrying them gets through, so every connection that negotiated timestamps has 55 bits behind it.
 *
 * <p>Stateless, allocation-free, and safe to call from any thread with its own {@link SaltSnapshot}.
 */
public final class SynCookie {
    public static final int MAC_BITS = 23;
    public static final int MAC_SHIFT = 9;
    public static final int OPTION_MASK = (1 << MAC_SHIFT) - 1;
    public static final int EPOCH_BIT = 1 << 8;
    public static final int MSS_SHIFT = 6;
    public static final int MSS_MASK = 3 << MSS_SHIFT;
    public static final int ECN_BIT = 1 << 5;
    public static final int SACK_BIT = 1 << 4;
    public static final int WSCALE_MASK = 0xf;
    /** The WScale field's value when the client did not offer window scaling. */
    public static final int WSCALE_NONE = 0xf;
    public static final int MAX_WSCALE = 14;
    /** Entries in each MSS table: the two bits of the MSS field. */
    public static final int MSS_TABLE_SIZE = 4;

    private static final long V4_LENGTH = 18;
    private static final long V6_LENGTH = 42;

    private SynCookie() {
    }

    /**
     * Option bits without the epoch: what the SYN asked for, already filtered by what is enabled.
     *
     * @param mssIndex   0..3
     * @param wscale     0..14, or {@link #WSCALE_NONE}
     */
    public static int optionBits(final int mssIndex, final boolean ecn, final boolean sack, final int wscale) {
        return (mssIndex << MSS_SHIFT) | (ecn ? ECN_BIT : 0) | (sack ? SACK_BIT : 0) | wscale;
    }

    /**
     * The cookie for an IPv4 SYN.
     *
     * @param addresses source then destination address, as the 8 bytes sit in the IPv4 header, read little-endian
     * @param ports     source then destination port, as the 4 bytes sit in the TCP header, read little-endian
     * @param clientIsn the SYN's sequence number
     * @param options   {@link #optionBits}
     */
    public static long issueV4(final SaltSnapshot salts, final long addresses, final int ports, final int clientIsn,
                               final int options) {
        final int bits = withParity(salts, options);
        return issued(hashV4(salts.currentK0(), salts.currentK1(), addresses, ports, clientIsn, bits), bits);
    }

    /** What {@code issueV4}/{@code issueV6} return: the cookie in the high half, our TSval in the low half. */
    private static long issued(final long hash, final int bits) {
        return ((long) cookie(hash, bits) << 32) | (tsValue(hash) & 0xffffffffL);
    }

    /** The cookie of an {@link #issueV4} or {@link #issueV6} result. */
    public static int cookieOf(final long issued) {
        return (int) (issued >>> 32);
    }

    /** Our SYN-ACK's TSval in an {@link #issueV4} or {@link #issueV6} result. */
    public static int tsValueOf(final long issued) {
        return (int) issued;
    }

    /** Our SYN-ACK's TSval for the cookie whose message hashed to {@code hash}: the bits the MAC leaves. */
    public static int tsValue(final long hash) {
        return (int) hash;
    }

    /**
     * Whether an ACK's cookie and timestamp echo match the SipHash of its message.
     *
     * @param tsEcho the ACK's TSecr; checked only when {@code hasTimestamps}
     */
    public static boolean matches(final long hash, final int cookie, final boolean hasTimestamps, final int tsEcho) {
        return cookie(hash, 0) == (cookie & ~OPTION_MASK) && (!hasTimestamps || tsValue(hash) == tsEcho);
    }

    /** The option bits with the current epoch's parity: the cookie's low 9 bits. */
    public static int withParity(final SaltSnapshot salts, final int options) {
        return options | (salts.currentParity() << 8);
    }

    /**
     * The IPv4 MAC message as SipHash's three blocks (for hashing many SYNs at once with {@link SipHashLanes}):
     * block 0 is the addresses word, block 1 {@link #portsAndIsn}, block 2 {@link #finalBlockV4}.
     */
    public static long finalBlockV4(final int bitsWithParity) {
        return bitsWithParity | (V4_LENGTH << 56);
    }

    /**
     * The IPv6 MAC message's last block (for {@link SipHashLanes#hash6}); blocks 0-3 are the addresses, block 4
     * {@link #portsAndIsn}.
     */
    public static long finalBlockV6(final int bitsWithParity) {
        return bitsWithParity | (V6_LENGTH << 56);
    }

    /** The cookie from the message's SipHash (IPv4 or IPv6) and its option bits. */
    public static int cookie(final long hash, final int bitsWithParity) {
        return ((int) (hash >>> (64 - MAC_BITS)) << MAC_SHIFT) | bitsWithParity;
    }

    /**
     * Validates the cookie an IPv4 ACK returns (the engine does the same for a whole burst in SIMD lanes).
     *
     * @param cookie        the ACK's acknowledgment number minus one
     * @param clientIsn     the ACK's sequence number minus one
     * @param hasTimestamps whether the ACK carries a timestamp option
     * @param tsEcho        its TSecr
     * @return the salt epoch that issued the cookie, or -1 if it does not validate
     */
    public static long validateV4(final SaltSnapshot salts, final long addresses, final int ports,
                                  final int clientIsn, final int cookie, final boolean hasTimestamps,
                                  final int tsEcho) {
        final int bits = cookie & OPTION_MASK;
        if (salts.isCurrent(bits)) {
            return matches(hashV4(salts.currentK0(), salts.currentK1(), addresses, ports, clientIsn, bits), cookie,
                hasTimestamps, tsEcho) ? salts.epoch() : -1;
        }
        if (salts.previousValid() && matches(hashV4(salts.previousK0(), salts.previousK1(), addresses, ports,
            clientIsn, bits), cookie, hasTimestamps, tsEcho)) {
            return salts.epoch() - 1;
        }
        if (salts.nextValid() && matches(hashV4(salts.nextK0(), salts.nextK1(), addresses, ports, clientIsn, bits),
            cookie, hasTimestamps, tsEcho)) {
            return salts.epoch() + 1;
        }
        return -1;
    }

    /**
     * The cookie for an IPv6 SYN. {@code a0..a3} are the source and destination addresses as four 8-byte words read
     * little-endian in header order.
     */
    public static long issueV6(final SaltSnapshot salts, final long a0, final long a1, final long a2, final long a3,
                               final int ports, final int clientIsn, final int options) {
        final int bits = withParity(salts, options);
        return issued(hashV6(salts.currentK0(), salts.currentK1(), a0, a1, a2, a3, ports, clientIsn, bits), bits);
    }

    /** Validates the cookie an IPv6 ACK returns; see {@link #validateV4}. */
    public static long validateV6(final SaltSnapshot salts, final long a0, final long a1, final long a2,
                                  final long a3, final int ports, final int clientIsn, final int cookie,
                                  final boolean hasTimestamps, final int tsEcho) {
        final int bits = cookie & OPTION_MASK;
        if (salts.isCurrent(bits)) {
            return matches(hashV6(salts.currentK0(), salts.currentK1(), a0, a1, a2, a3, ports, clientIsn, bits),
                cookie, hasTimestamps, tsEcho) ? salts.epoch() : -1;
        }
        if (salts.previousValid() && matches(hashV6(salts.previousK0(), salts.previousK1(), a0, a1, a2, a3, ports,
            clientIsn, bits), cookie, hasTimestamps, tsEcho)) {
            return salts.epoch() - 1;
        }
        if (salts.nextValid() && matches(hashV6(salts.nextK0(), salts.nextK1(), a0, a1, a2, a3, ports, clientIsn,
            bits), cookie, hasTimestamps, tsEcho)) {
            return salts.epoch() + 1;
        }
        return -1;
    }

    public static int mssIndex(final int bits) {
        return (bits & MSS_MASK) >>> MSS_SHIFT;
    }

    public static boolean ecn(final int bits) {
        return (bits & ECN_BIT) != 0;
    }

    public static boolean sack(final int bits) {
        return (bits & SACK_BIT) != 0;
    }

    /** 0..14, or {@link #WSCALE_NONE}. */
    public static int wscale(final int bits) {
        return bits & WSCALE_MASK;
    }

    /** The message's ports-and-ISN word: the 4 port bytes as read, then the ISN in network byte order. */
    public static long portsAndIsn(final int ports, final int clientIsn) {
        return (ports & 0xffffffffL) | ((long) Integer.reverseBytes(clientIsn) << 32);
    }

    private static long hashV4(final long k0, final long k1, final long addresses, final int ports, final int isn,
                               final int bits) {
        return SipHash.hash3(k0, k1, addresses, portsAndIsn(ports, isn), finalBlockV4(bits));
    }

    private static long hashV6(final long k0, final long k1, final long a0, final long a1, final long a2,
                               final long a3, final int ports, final int isn, final int bits) {
        return SipHash.hash6(k0, k1, a0, a1, a2, a3, portsAndIsn(ports, isn), finalBlockV6(bits));
    }
}
