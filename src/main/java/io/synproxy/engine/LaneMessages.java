package io.synproxy.engine;

import io.synproxy.cookie.SipHashLanes;

/**
 * The SipHash messages of a batch, one per SIMD lane, as one array per 8-byte block ({@code m0..m5}, then
 * {@code last}, which carries the length byte), and the batch's results. Every batch of the engine (cookies to issue,
 * cookies to check, authenticators to write) keeps its messages in one of these.
 */
final class LaneMessages {
    /** Blocks per message, the last one included: 3, 4, 6 or 7. */
    private final int blocks;
    final long[] m0;
    final long[] m1;
    final long[] m2;
    final long[] m3;
    final long[] m4;
    final long[] m5;
    final long[] last;
    final long[] hash;
    /** A key per message for {@link #hashKeyed} (authenticators: each backend has its own key), or, for
     * {@link #hash}, the one key in the first {@link SipHashLanes#LANES} slots. */
    final long[] k0;
    final long[] k1;

    LaneMessages(final int capacity, final int blocks) {
        if (blocks != 3 && blocks != 4 && blocks != 6 && blocks != 7) {
            throw new IllegalArgumentException("messages of 3, 4, 6 or 7 blocks, not " + blocks);
        }
        this.blocks = blocks;
        final int padded = SipHashLanes.paddedLength(capacity);
        m0 = new long[padded];
        m1 = new long[padded];
        m2 = new long[padded];
        m3 = new long[padded];
        m4 = new long[padded];
        m5 = new long[padded];
        last = new long[padded];
        hash = new long[padded];
        k0 = new long[padded];
        k1 = new long[padded];
    }

    /** Hashes the first {@code count} messages, each under its own key ({@link #k0}, {@link #k1}). */
    void hashKeyed(final int count) {
        SipHashLanes.hash(k0, k1, 1, blocks, m0, m1, m2, m3, m4, m5, last, hash, count);
    }

    /** Hashes the first {@code count} messages under one key into {@link #hash}. */
    void hash(final long k0, final long k1, final int count) {
        // One key for every lane: its copies in the first LANES slots, read with stride 0.
        for (int lane = 0; lane < SipHashLanes.LANES; lane++) {
            this.k0[lane] = k0;
            this.k1[lane] = k1;
        }
        SipHashLanes.hash(this.k0, this.k1, 0, blocks, m0, m1, m2, m3, m4, m5, last, hash, count);
    }
}
