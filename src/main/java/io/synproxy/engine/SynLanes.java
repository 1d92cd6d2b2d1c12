package io.synproxy.engine;

import io.synproxy.cookie.SynCookie;

/**
 * SYN-ACKs of one burst and one address family waiting for their cookies: everything else of each frame is written;
 * the cookies' SipHashes run together in SIMD lanes, then each SYN-ACK gets its sequence number, TSval and checksum.
 * IPv4 messages are three blocks (addresses, ports and ISN, last), IPv6 six (four address words, ports and ISN, last),
 * as {@link SynCookie} hashes them.
 */
final class SynLanes {
    final long[] tcp;
    final int[] bits;
    /** The SYN-ACK's checksum sum without the cookie and TSval. */
    final long[] sum;
    final boolean[] timestamps;
    private final LaneMessages messages;
    int count;

    SynLanes(final int capacity, final boolean v6) {
        tcp = new long[capacity];
        bits = new int[capacity];
        sum = new long[capacity];
        timestamps = new boolean[capacity];
        messages = new LaneMessages(capacity, v6 ? 6 : 3);
    }

    private int add(final long tcpAddress, final int bitsWithParity, final long partialSum, final boolean ts) {
        final int p = count++;
        tcp[p] = tcpAddress;
        bits[p] = bitsWithParity;
        sum[p] = partialSum;
        timestamps[p] = ts;
        return p;
    }

    void addV4(final long tcpAddress, final int bitsWithParity, final long partialSum, final boolean ts,
               final long addresses, final long portsAndIsn) {
        final int p = add(tcpAddress, bitsWithParity, partialSum, ts);
        messages.m0[p] = addresses;
        messages.m1[p] = portsAndIsn;
        messages.last[p] = SynCookie.finalBlockV4(bitsWithParity);
    }

    void addV6(final long tcpAddress, final int bitsWithParity, final long partialSum, final boolean ts,
               final long a0, final long a1, final long a2, final long a3, final long portsAndIsn) {
        final int p = add(tcpAddress, bitsWithParity, partialSum, ts);
        messages.m0[p] = a0;
        messages.m1[p] = a1;
        messages.m2[p] = a2;
        messages.m3[p] = a3;
        messages.m4[p] = portsAndIsn;
        messages.last[p] = SynCookie.finalBlockV6(bitsWithParity);
    }

    /** Hashes every queued message under the current salt's key; then {@link #cookie} answers for each. */
    void hashAll(final long k0, final long k1) {
        messages.hash(k0, k1, count);
    }

    int cookie(final int p) {
        return SynCookie.cookie(messages.hash[p], bits[p]);
    }

    int tsValue(final int p) {
        return SynCookie.tsValue(messages.hash[p]);
    }
}
