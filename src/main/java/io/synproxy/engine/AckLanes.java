package io.synproxy.engine;

import io.synproxy.cookie.SynCookie;

/**
 * ACKs of one burst and one address family waiting for their cookies to be checked, one lane each, all checked under
 * one salt: their SipHashes run together in SIMD lanes ({@link LaneMessages}), then each is encapsulated. What the
 * check and the encapsulation need is kept as primitives, one array per field. IPv4 messages are three blocks
 * (addresses, ports and ISN, last), IPv6 six (four address words, ports and ISN, last), as {@link SynCookie} hashes
 * them.
 */
final class AckLanes {
    /** Whether these are IPv6 ACKs. */
    final boolean v6;
    final int[] index;
    final long[] frame;
    final long[] ip;
    /** The IP packet's length (IPv4 total length, or IPv6 header plus payload). */
    final int[] ipLength;
    final long[] tcp;
    final long[] flowHash;
    /** The MAC bits the ACK's cookie carries (the option bits masked off). */
    final int[] mac;
    private final LaneMessages messages;
    int count;

    AckLanes(final int capacity, final boolean v6) {
        this.v6 = v6;
        index = new int[capacity];
        frame = new long[capacity];
        ip = new long[capacity];
        ipLength = new int[capacity];
        tcp = new long[capacity];
        flowHash = new long[capacity];
        mac = new int[capacity];
        messages = new LaneMessages(capacity, v6 ? 6 : 3);
    }

    /**
     * Queues an ACK: where it is, and its cookie.
     *
     * @param cookie the acknowledgment number minus one
     */
    private int add(final int frameIndex, final long frameAddress, final long ipAddress, final int length,
                    final long tcpAddress, final long flow, final int cookie) {
        final int p = count++;
        index[p] = frameIndex;
        frame[p] = frameAddress;
        ip[p] = ipAddress;
        ipLength[p] = length;
        tcp[p] = tcpAddress;
        flowHash[p] = flow;
        mac[p] = cookie & ~SynCookie.OPTION_MASK;
        return p;
    }

    /** Queues an IPv4 ACK; {@code clientIsn} is its sequence number minus one. */
    void addV4(final int frameIndex, final long frameAddress, final long ipAddress, final int length,
               final long tcpAddress, final long flow, final long addressWord, final int ports, final int clientIsn,
               final int cookie) {
        final int p = add(frameIndex, frameAddress, ipAddress, length, tcpAddress, flow, cookie);
        messages.m0[p] = addressWord;
        messages.m1[p] = SynCookie.portsAndIsn(ports, clientIsn);
        messages.last[p] = SynCookie.finalBlockV4(cookie & SynCookie.OPTION_MASK);
    }

    /** Queues an IPv6 ACK; {@code a0..a3} are its addresses as {@link SynCookie#validateV6} takes them. */
    void addV6(final int frameIndex, final long frameAddress, final long ipAddress, final int length,
               final long tcpAddress, final long flow, final long a0, final long a1, final long a2, final long a3,
               final int ports, final int clientIsn, final int cookie) {
        final int p = add(frameIndex, frameAddress, ipAddress, length, tcpAddress, flow, cookie);
        messages.m0[p] = a0;
        messages.m1[p] = a1;
        messages.m2[p] = a2;
        messages.m3[p] = a3;
        messages.m4[p] = SynCookie.portsAndIsn(ports, clientIsn);
        messages.last[p] = SynCookie.finalBlockV6(cookie & SynCookie.OPTION_MASK);
    }

    /** Hashes every queued ACK's message under one key; then {@link #valid} answers for each. */
    void hashAll(final long k0, final long k1) {
        messages.hash(k0, k1, count);
    }

    boolean valid(final int p) {
        return SynCookie.cookie(messages.hash[p], 0) == mac[p];
    }
}
