package io.synproxy.engine;

import io.synproxy.cookie.SynCookie;

/**
 * ACK cookies of one burst and one address family waiting to be checked under one salt: their SipHashes run together
 * in SIMD lanes ({@link LaneMessages}). Each lane names the ACK it checks in the burst's {@link PendingAcks}, which a
 * cookie of the other epoch parity may have in two lanes (previous and next epoch) near a boundary. IPv4 messages are
 * three blocks (addresses, ports and ISN, last), IPv6 six (four address words, ports and ISN, last), as
 * {@link SynCookie} hashes them.
 */
final class AckLanes {
    /** The entry of {@link PendingAcks} each lane checks. */
    final int[] pending;
    /** The MAC bits the ACK's cookie carries (the option bits masked off). */
    private final int[] mac;
    private final boolean[] timestamps;
    private final int[] tsEcho;
    private final LaneMessages messages;
    int count;

    AckLanes(final int capacity, final boolean v6) {
        pending = new int[capacity];
        mac = new int[capacity];
        timestamps = new boolean[capacity];
        tsEcho = new int[capacity];
        messages = new LaneMessages(capacity, v6 ? 6 : 3);
    }

    /**
     * Queues a check.
     *
     * @param cookie the acknowledgment number minus one
     * @param hasTimestamps whether the ACK carries a timestamp option, whose echo {@code echo} must then match too
     */
    private int add(final int entry, final int cookie, final boolean hasTimestamps, final int echo) {
        final int p = count++;
        pending[p] = entry;
        mac[p] = cookie;
        timestamps[p] = hasTimestamps;
        tsEcho[p] = echo;
        return p;
    }

    /** Queues an IPv4 check; {@code clientIsn} is the ACK's sequence number minus one. */
    void addV4(final int entry, final long addressWord, final int ports, final int clientIsn, final int cookie,
               final boolean hasTimestamps, final int echo) {
        final int p = add(entry, cookie, hasTimestamps, echo);
        messages.m0[p] = addressWord;
        messages.m1[p] = SynCookie.portsAndIsn(ports, clientIsn);
        messages.last[p] = SynCookie.finalBlockV4(cookie & SynCookie.OPTION_MASK);
    }

    /** Queues an IPv6 check; {@code a0..a3} are its addresses as {@link SynCookie#validateV6} takes them. */
    void addV6(final int entry, final long a0, final long a1, final long a2, final long a3, final int ports,
               final int clientIsn, final int cookie, final boolean hasTimestamps, final int echo) {
        final int p = add(entry, cookie, hasTimestamps, echo);
        messages.m0[p] = a0;
        messages.m1[p] = a1;
        messages.m2[p] = a2;
        messages.m3[p] = a3;
        messages.m4[p] = SynCookie.portsAndIsn(ports, clientIsn);
        messages.last[p] = SynCookie.finalBlockV6(cookie & SynCookie.OPTION_MASK);
    }

    /** Hashes every queued message under one salt's key; then {@link #valid} answers for each. */
    void hashAll(final long k0, final long k1) {
        messages.hash(k0, k1, count);
    }

    boolean valid(final int p) {
        return SynCookie.matches(messages.hash[p], mac[p], timestamps[p], tsEcho[p]);
    }
}
