package io.synproxy.engine;

import static io.synproxy.packet.Bytes.U64;

import io.synproxy.cookie.SipHashLanes;
import java.lang.foreign.MemorySegment;

/**
 * Encapsulated frames of one burst and one inner address family whose authenticator is still to be computed: the
 * SipHashes of all of them run together in SIMD lanes, then each is written into its encapsulation header. Nothing
 * else in the frame depends on it (the outer UDP checksum is zero). The message is the encapsulation header's first
 * word with the acknowledgment number, the inner addresses, then ports and sequence number: 24 bytes for IPv4 (four
 * blocks with the last), 48 for IPv6 (seven).
 */
final class AuthLanes {
    /** The IPv4 message's last block: its length (24 bytes) in the top byte, as SipHash pads. */
    static final long LAST_BLOCK_V4 = 24L << 56;
    /** The IPv6 message's last block: 48 bytes. */
    static final long LAST_BLOCK_V6 = 48L << 56;

    private final boolean v6;
    private final long[] at;
    private final long[] m0;
    private final long[] m1;
    private final long[] m2;
    private final long[] m3;
    private final long[] m4;
    private final long[] m5;
    private final long[] last;
    private final long[] hash;
    private int count;

    AuthLanes(final int capacity, final boolean v6) {
        this.v6 = v6;
        at = new long[capacity];
        final int padded = SipHashLanes.paddedLength(capacity);
        m0 = new long[padded];
        m1 = new long[padded];
        m2 = new long[padded];
        m3 = new long[padded];
        m4 = new long[padded];
        m5 = new long[padded];
        last = new long[padded];
        java.util.Arrays.fill(last, v6 ? LAST_BLOCK_V6 : LAST_BLOCK_V4);
        hash = new long[padded];
    }

    /** Queues an IPv4 authenticator: {@code address} is where it goes, the blocks are its message. */
    void addV4(final long address, final long block0, final long addressWord, final long portsSequence) {
        final int p = count++;
        at[p] = address;
        m0[p] = block0;
        m1[p] = addressWord;
        m2[p] = portsSequence;
    }

    /** Queues an IPv6 authenticator: the header word, the four address words, ports and sequence. */
    void addV6(final long address, final long block0, final long a0, final long a1, final long a2, final long a3,
               final long portsSequence) {
        final int p = count++;
        at[p] = address;
        m0[p] = block0;
        m1[p] = a0;
        m2[p] = a1;
        m3[p] = a2;
        m4[p] = a3;
        m5[p] = portsSequence;
    }

    /** Hashes every queued message under the proxy-backend key and writes each authenticator in place. */
    void finish(final MemorySegment mem, final long k0, final long k1) {
        if (count == 0) {
            return;
        }
        if (v6) {
            SipHashLanes.hash7(k0, k1, m0, m1, m2, m3, m4, m5, last, hash, count);
        } else {
            SipHashLanes.hash4(k0, k1, m0, m1, m2, last, hash, count);
        }
        for (int p = 0; p < count; p++) {
            mem.set(U64, at[p], hash[p]);
        }
        count = 0;
    }
}
