package io.synproxy.engine;

/**
 * The flow hash: picks the backend (Maglev) and the outer UDP source port, so it must be the same on every proxy
 * node for a flow, and unpredictable to clients (or a flood could aim every flow at one backend). It is keyed by a
 * seed every node derives from the shared master secret, and cheap: two multiply-xorshift rounds (SplitMix64's
 * finaliser), not a cryptographic MAC, because nothing is authenticated by it.
 *
 * <p>Inputs are the client-to-VIP addresses and ports exactly as read from the packet (little-endian words), so a
 * flow hashes the same on its SYN, its ACK and its data.
 */
public final class FlowHash {
    private FlowHash() {
    }

    public static long v4(final long seed, final long addresses, final int ports) {
        return mix(seed ^ addresses, ports);
    }

    public static long v6(final long seed, final long a0, final long a1, final long a2, final long a3,
                          final int ports) {
        return mix(seed ^ a0 ^ Long.rotateLeft(a1, 17) ^ Long.rotateLeft(a2, 31) ^ Long.rotateLeft(a3, 47), ports);
    }

    private static long mix(final long x, final int ports) {
        long h = x * 0x9e3779b97f4a7c15L;
        h ^= (h >>> 32) ^ (ports & 0xffffffffL);
        h *= 0xbf58476d1ce4e5b9L;
        h ^= h >>> 31;
        h *= 0x94d049bb133111ebL;
        return h ^ (h >>> 29);
    }
}
