package io.synproxy.engine;

import io.synproxy.cookie.SipHashLanes;
import io.synproxy.cookie.SynCookie;

/**
 * SYN-ACKs of one burst, one address family, waiting for their cookies: everything else of each frame is written; the
 * cookies' SipHashes run together in SIMD lanes, then each SYN-ACK gets its sequence number, TSval and checksum.
 * IPv4 messages are three blocks (addresses, ports and ISN, last), IPv6 six (four address words, ports and ISN, last).
 */
final class SynLanes {
    final long[] tcp;
    final int[] bits;
    /** The SYN-ACK's checksum sum without the cookie and TSval. */
    final long[] sum;
    final boolean[] timestamps;
    private final long[] m0;
    private final long[] m1;
    private final long[] m2;
    private final long[] m3;
    private final long[] m4;
    private final long[] last;
    final long[] hash;
    int count;

    SynLanes(final int capacity) {
        tcp = new long[capacity];
        bits = new int[capacity];
        sum = new long[capacity];
        timestamps = new boolean[capacity];
        final int padded = SipHashLanes.paddedLength(capacity);
        m0 = new long[padded];
        m1 = new long[padded];
        m2 = new long[padded];
        m3 = new long[padded];
        m4 = new long[padded];
        last = new long[padded];
        hash = new long[padded];
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
        m0[p] = addresses;
        m1[p] = portsAndIsn;
        last[p] = SynCookie.finalBlockV4(bitsWithParity);
    }

    void addV6(final long tcpAddress, final int bitsWithParity, final long partialSum, final boolean ts,
               final long a0, final long a1, final long a2, final long a3, final long portsAndIsn) {
        final int p = add(tcpAddress, bitsWithParity, partialSum, ts);
        m0[p] = a0;
        m1[p] = a1;
        m2[p] = a2;
        m3[p] = a3;
        m4[p] = portsAndIsn;
        last[p] = SynCookie.finalBlockV6(bitsWithParity);
    }

    void hashV4(final long k0, final long k1) {
        SipHashLanes.hash3(k0, k1, m0, m1, last, hash, count);
    }

    void hashV6(final long k0, final long k1) {
        SipHashLanes.hash6(k0, k1, m0, m1, m2, m3, m4, last, hash, count);
    }

    int cookie(final int p) {
        return SynCookie.cookie(hash[p], bits[p]);
    }
}
