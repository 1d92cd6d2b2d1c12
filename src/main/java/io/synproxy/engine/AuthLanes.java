package io.synproxy.engine;

import static io.synproxy.packet.Bytes.U64;

import io.synproxy.cookie.SipHashLanes;
import java.lang.foreign.MemorySegment;

/**
 * Encapsulated IPv4 frames of one burst whose authenticator is still to be computed: the SipHashes of all of them run
 * together in SIMD lanes ({@link SipHashLanes#hash4}), then each is written into its encapsulation header. Nothing
 * else in the frame depends on it (the outer UDP checksum is zero).
 */
final class AuthLanes {
    /** The IPv4 message's last block: its length (24 bytes) in the top byte, as SipHash pads. */
    static final long LAST_BLOCK_V4 = 24L << 56;

    private final long[] at;
    private final long[] m0;
    private final long[] m1;
    private final long[] m2;
    private final long[] last;
    private final long[] hash;
    private int count;

    AuthLanes(final int capacity) {
        at = new long[capacity];
        final int padded = SipHashLanes.paddedLength(capacity);
        m0 = new long[padded];
        m1 = new long[padded];
        m2 = new long[padded];
        last = new long[padded];
        java.util.Arrays.fill(last, LAST_BLOCK_V4);
        hash = new long[padded];
    }

    /** Queues one authenticator: {@code address} is where it goes, the blocks are its message. */
    void add(final long address, final long block0, final long block1, final long block2) {
        final int p = count++;
        at[p] = address;
        m0[p] = block0;
        m1[p] = block1;
        m2[p] = block2;
    }

    /** Hashes every queued message under the proxy-backend key and writes each authenticator in place. */
    void finish(final MemorySegment mem, final long k0, final long k1) {
        if (count == 0) {
            return;
        }
        SipHashLanes.hash4(k0, k1, m0, m1, m2, last, hash, count);
        for (int p = 0; p < count; p++) {
            mem.set(U64, at[p], hash[p]);
        }
        count = 0;
    }
}
