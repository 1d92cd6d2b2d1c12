package io.synproxy.engine;

/**
 * The burst's ACKs to a VIP whose cookies are being checked ({@link AckLanes}): where each frame is, what its
 * encapsulation needs, and, once the lanes are hashed, the salt epoch that issued its cookie (or {@link #NOT_VALID}).
 * One entry per ACK, whichever lanes check it, so each is encapsulated exactly once.
 */
final class PendingAcks {
    static final long NOT_VALID = Long.MIN_VALUE;

    final int[] index;
    final long[] frame;
    final long[] ip;
    final boolean[] v6;
    /** The IP packet's length (IPv4 total length, or IPv6 header plus payload). */
    final int[] ipLength;
    final long[] tcp;
    final long[] flowHash;
    /** The cookie's option bits. */
    final int[] bits;
    final long[] epoch;
    int count;

    PendingAcks(final int capacity) {
        index = new int[capacity];
        frame = new long[capacity];
        ip = new long[capacity];
        v6 = new boolean[capacity];
        ipLength = new int[capacity];
        tcp = new long[capacity];
        flowHash = new long[capacity];
        bits = new int[capacity];
        epoch = new long[capacity];
    }

    /** Adds an ACK, not validated yet; returns its entry. */
    int add(final int frameIndex, final long frameAddress, final long ipAddress, final boolean innerV6,
            final int length, final long tcpAddress, final long flow, final int cookieBits) {
        final int p = count++;
        index[p] = frameIndex;
        frame[p] = frameAddress;
        ip[p] = ipAddress;
        v6[p] = innerV6;
        ipLength[p] = length;
        tcp[p] = tcpAddress;
        flowHash[p] = flow;
        bits[p] = cookieBits;
        epoch[p] = NOT_VALID;
        return p;
    }
}
