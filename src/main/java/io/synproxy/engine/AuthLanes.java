package io.synproxy.engine;

import static io.synproxy.packet.Bytes.U64;

import java.lang.foreign.MemorySegment;

/**
 * Encapsulated frames of one burst and one inner address family whose authenticator is still to be computed: the
 * SipHashes of all of them run together in SIMD lanes ({@link LaneMessages}), then each is written into its
 * encapsulation header. Nothing else in the frame depends on it (the outer UDP checksum is zero). The message is the encapsulation header's first
 * word with the acknowledgment number, the inner addresses, then ports and sequence number: 24 bytes for IPv4 (four
 * blocks with the last), 48 for IPv6 (seven).
 */
final class AuthLanes {
    /** The IPv4 message's last block: its length (24 bytes) in the top byte, as SipHash pads. */
    static final long LAST_BLOCK_V4 = 24L << 56;
    /** The IPv6 message's last block: 48 bytes. */
    static final long LAST_BLOCK_V6 = 48L << 56;

    private final long[] at;
    private final LaneMessages messages;
    private int count;

    AuthLanes(final int capacity, final boolean v6) {
        at = new long[capacity];
        messages = new LaneMessages(capacity, v6 ? 7 : 4);
        java.util.Arrays.fill(messages.last, v6 ? LAST_BLOCK_V6 : LAST_BLOCK_V4);
    }

    /** Queues an IPv4 authenticator: {@code address} is where it goes, the blocks are its message. */
    void addV4(final long address, final long block0, final long addressWord, final long portsSequence) {
        final int p = count++;
        at[p] = address;
        messages.m0[p] = block0;
        messages.m1[p] = addressWord;
        messages.m2[p] = portsSequence;
    }

    /** Queues an IPv6 authenticator: the header word, the four address words, ports and sequence. */
    void addV6(final long address, final long block0, final long a0, final long a1, final long a2, final long a3,
               final long portsSequence) {
        final int p = count++;
        at[p] = address;
        messages.m0[p] = block0;
        messages.m1[p] = a0;
        messages.m2[p] = a1;
        messages.m3[p] = a2;
        messages.m4[p] = a3;
        messages.m5[p] = portsSequence;
    }

    /** Hashes every queued message under the proxy-backend key and writes each authenticator in place. */
    void finish(final MemorySegment mem, final long k0, final long k1) {
        if (count == 0) {
            return;
        }
        messages.hash(k0, k1, count);
        for (int p = 0; p < count; p++) {
            mem.set(U64, at[p], messages.hash[p]);
        }
        count = 0;
    }
}
