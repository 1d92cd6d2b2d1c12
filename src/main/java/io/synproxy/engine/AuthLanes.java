package io.synproxy.engine;


import static io.synproxy.packet.Bytes.setU64;

import io.synproxy.packet.EncapHeader;
import java.lang.foreign.MemorySegment;

/**
 * Encapsulated frames of one burst and one inner address family whose authenticator is still to be computed: the
 * SipHashes of all of them run together in SIMD lanes ({@link LaneMessages}), each under its backend's own key, then
 * each is written into its encapsulation header. Nothing else in the frame depends on it (the outer UDP checksum is
 * zero). The message ({@link EncapHeader}) is the header's first two words, the inner addresses, then the first 12
 * bytes of the inner transport header: 28 bytes for IPv4 (four blocks with the last), 52 for IPv6 (seven).
 */
final class AuthLanes {
    private final long[] at;
    private final LaneMessages messages;
    private int count;

    AuthLanes(final int capacity, final boolean v6) {
        at = new long[capacity];
        messages = new LaneMessages(capacity, v6 ? 7 : 4);
    }

    /**
     * Queues an IPv4 authenticator: {@code address} is where it goes, {@code k0, k1} the backend's key, the blocks its
     * message ({@code last} from {@link EncapHeader#lastBlock}).
     */
    void addV4(final long address, final long k0, final long k1, final long header, final long addressWord,
               final long transport, final long last) {
        final int p = count++;
        at[p] = address;
        messages.k0[p] = k0;
        messages.k1[p] = k1;
        messages.m0[p] = header;
        messages.m1[p] = addressWord;
        messages.m2[p] = transport;
        messages.last[p] = last;
    }

    /** Queues an IPv6 authenticator: the header words, the four address words, the transport words. */
    void addV6(final long address, final long k0, final long k1, final long header, final long a0, final long a1,
               final long a2, final long a3, final long transport, final long last) {
        final int p = count++;
        at[p] = address;
        messages.k0[p] = k0;
        messages.k1[p] = k1;
        messages.m0[p] = header;
        messages.m1[p] = a0;
        messages.m2[p] = a1;
        messages.m3[p] = a2;
        messages.m4[p] = a3;
        messages.m5[p] = transport;
        messages.last[p] = last;
    }

    /** Hashes every queued message under its backend's key and writes each authenticator in place. */
    void finish(final MemorySegment mem) {
        if (count == 0) {
            return;
        }
        messages.hashKeyed(count);
        for (int p = 0; p < count; p++) {
            setU64(mem, at[p], messages.hash[p]);
        }
        count = 0;
    }
}
