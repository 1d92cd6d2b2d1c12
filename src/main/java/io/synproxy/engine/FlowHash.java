package io.synproxy.engine;

import io.synproxy.cookie.SipHash;

/**
 * The flow hash: picks the backend (Maglev, from its top 32 bits) and the outer UDP source port and IPv6 flow label
 * (from the top bits too), so it must be the same on every proxy node for a flow, and no client may be able to choose
 * flows that collide (or a flood could aim every flow at one backend).
 *
 * <p>It is the multilinear hash of Lemire and Kaser ("Strongly universal string hashing is fast", 2014): the tuple cut
 * into 32-bit pieces {@code m_i}, {@code h = k_0 + sum(k_(i+1) * m_i) mod 2^64}, with 64-bit keys every node derives
 * from the shared master secret. Its top 32 bits are strongly universal: for any two different tuples, over the
 * secret keys, they collide with probability 2<sup>-32</sup>, whatever bits the client varies. Every bit of both
 * addresses and both ports goes in; nothing is folded before the keys touch it (an XOR fold of the IPv6 words would let
 * anyone with a /48 cancel bits of one word with bits of another, whatever the key). Cheap: a multiply-add per piece,
 * no cryptographic MAC, because nothing is authenticated by it.
 *
 * <p>Inputs are the client-to-VIP addresses and ports exactly as read from the packet (little-endian words), so a
 * flow hashes the same on its SYN, its ACK and its data; an ICMP error quoting a VIP-to-client packet is hashed with
 * its tuple turned back around.
 */
public final class FlowHash {
    /** Pieces of the longest tuple: two IPv6 addresses (8) and the ports (1), and the constant term. */
    private static final int KEYS = 10;
    // Fields, not an array: the hash runs on every packet, and these are then plain loads without bounds checks.
    private final long k0;
    private final long k1;
    private final long k2;
    private final long k3;
    private final long k4;
    private final long k5;
    private final long k6;
    private final long k7;
    private final long k8;
    private final long k9;

    FlowHash(final long[] keys) {
        if (keys.length != KEYS) {
            throw new IllegalArgumentException("the flow hash needs " + KEYS + " keys");
        }
        k0 = keys[0];
        k1 = keys[1];
        k2 = keys[2];
        k3 = keys[3];
        k4 = keys[4];
        k5 = keys[5];
        k6 = keys[6];
        k7 = keys[7];
        k8 = keys[8];
        k9 = keys[9];
    }

    /** The keys every node derives from the master secret. */
    public static FlowHash fromSecret(final byte[] masterSecret) {
        return fromSeed(io.synproxy.cookie.KeyFile.deriveFlowSeed(masterSecret));
    }

    /** The keys from a 16-byte seed (a key file's pinned {@code flow}, or the one derived from its secret). */
    public static FlowHash fromSeed(final byte[] seed) {
        final long s0 = SipHash.keyWord(seed, 0);
        final long s1 = SipHash.keyWord(seed, 1);
        final long[] keys = new long[KEYS];
        final byte[] index = new byte[1];
        for (int i = 0; i < KEYS; i++) {
            index[0] = (byte) i;
            keys[i] = SipHash.hash(s0, s1, index, 0, 1);
        }
        return new FlowHash(keys);
    }

    /**
     * @param addresses client then VIP address, the 8 bytes as they sit in the IPv4 header, read little-endian
     * @param ports     client then VIP port, the 4 bytes as they sit in the TCP header, read little-endian
     */
    public long v4(final long addresses, final int ports) {
        return k0 + k1 * (addresses & 0xffffffffL) + k2 * (addresses >>> 32) + k3 * (ports & 0xffffffffL);
    }

    /** {@code a0, a1} the client's address and {@code a2, a3} the VIP's, as 8-byte words read little-endian. */
    public long v6(final long a0, final long a1, final long a2, final long a3, final int ports) {
        return k0 + k1 * (a0 & 0xffffffffL) + k2 * (a0 >>> 32) + k3 * (a1 & 0xffffffffL)
            + k4 * (a1 >>> 32) + k5 * (a2 & 0xffffffffL) + k6 * (a2 >>> 32) + k7 * (a3 & 0xffffffffL)
            + k8 * (a3 >>> 32) + k9 * (ports & 0xffffffffL);
    }
}
