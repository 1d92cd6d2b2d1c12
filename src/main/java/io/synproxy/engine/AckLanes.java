package io.synproxy.engine;

import io.synproxy.cookie.SynCookie;

/**
 * ACKs of one burst and one address family waiting for their cookies to be checked under one salt, one lane each:
 * their SipHashes run together in SIMD lanes ({@link LaneMessages}), then each is encapsulated. What the check and
 * the encapsulation need is kept as primitives, one array per field. IPv4 messages are three blocks (addresses,
 * ports and ISN, last), IPv6 six (four address words, ports and ISN, last), as {@link SynCookie} hashes them.
 *
 * <p>Near an epoch boundary a cookie of the other parity may be the previous epoch's or the next one's: it is then
 * checked in two groups of lanes. It belongs to the first (its frame is encapsulated from there, once); in the second
 * it is only a check whose success is written back to its owner ({@link #owner}).
 */
final class AckLanes {
    /** {@link #epoch} of a check that failed. */
    static final long NOT_VALID = Long.MIN_VALUE;

    /** Whether these are IPv6 ACKs. */
    final boolean v6;
    final int[] index;
    final long[] frame;
    final long[] ip;
    /** The IP packet's length (IPv4 total length, or IPv6 header plus payload). */
    final int[] ipLength;
    final long[] tcp;
    final long[] flowHash;
    /** The ACK's cookie (acknowledgment number minus one): its MAC bits are checked, its option bits used. */
    final int[] cookie;
    private final boolean[] timestamps;
    private final int[] tsEcho;
    /** After {@link #check}: the salt epoch that issued the cookie, or {@link #NOT_VALID}. */
    final long[] epoch;
    /** -1 for an ACK this group encapsulates; else the lane of its owner in the group checked before this one. */
    final int[] owner;
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
        cookie = new int[capacity];
        timestamps = new boolean[capacity];
        tsEcho = new int[capacity];
        epoch = new long[capacity];
        owner = new int[capacity];
        messages = new LaneMessages(capacity, v6 ? 6 : 3);
    }

    /**
     * Queues an ACK this group owns: where it is, its cookie, its timestamp echo. Returns its lane.
     *
     * @param ackCookie the acknowledgment number minus one
     * @param hasTimestamps whether the ACK carries a timestamp option, whose echo {@code echo} must then match too
     */
    int add(final int frameIndex, final long frameAddress, final long ipAddress, final int length,
            final long tcpAddress, final long flow, final int ackCookie, final boolean hasTimestamps, final int echo) {
        final int p = check(-1, ackCookie, hasTimestamps, echo);
        index[p] = frameIndex;
        frame[p] = frameAddress;
        ip[p] = ipAddress;
        ipLength[p] = length;
        tcp[p] = tcpAddress;
        flowHash[p] = flow;
        return p;
    }

    /** Queues a second check of an ACK another group owns (at {@code ownerLane}); see {@link #add}. */
    int also(final int ownerLane, final int ackCookie, final boolean hasTimestamps, final int echo) {
        return check(ownerLane, ackCookie, hasTimestamps, echo);
    }

    private int check(final int ownerLane, final int ackCookie, final boolean hasTimestamps, final int echo) {
        final int p = count++;
        owner[p] = ownerLane;
        cookie[p] = ackCookie;
        timestamps[p] = hasTimestamps;
        tsEcho[p] = echo;
        return p;
    }

    /** The message of lane {@code p}, IPv4; {@code clientIsn} is the ACK's sequence number minus one. */
    void messageV4(final int p, final long addressWord, final int ports, final int clientIsn) {
        messages.m0[p] = addressWord;
        messages.m1[p] = SynCookie.portsAndIsn(ports, clientIsn);
        messages.last[p] = SynCookie.finalBlockV4(cookie[p] & SynCookie.OPTION_MASK);
    }

    /**
     * The message of lane {@code p}, IPv6; {@code a0..a3} are its addresses as {@link SynCookie#validateV6} takes
     * them.
     */
    void messageV6(final int p, final long a0, final long a1, final long a2, final long a3, final int ports,
                   final int clientIsn) {
        messages.m0[p] = a0;
        messages.m1[p] = a1;
        messages.m2[p] = a2;
        messages.m3[p] = a3;
        messages.m4[p] = SynCookie.portsAndIsn(ports, clientIsn);
        messages.last[p] = SynCookie.finalBlockV6(cookie[p] & SynCookie.OPTION_MASK);
    }

    /**
     * Hashes every queued message under the salt of {@code salt} and records, in {@link #epoch}, which validated: a
     * second check's success is written to its owner in {@code owners} (the group checked before this one).
     */
    void check(final long k0, final long k1, final long salt, final AckLanes owners) {
        if (count == 0) {
            return;
        }
        messages.hash(k0, k1, count);
        for (int p = 0; p < count; p++) {
            final boolean valid = SynCookie.matches(messages.hash[p], cookie[p], timestamps[p], tsEcho[p]);
            if (owner[p] < 0) {
                epoch[p] = valid ? salt : NOT_VALID;
            } else if (valid) {
                owners.epoch[owner[p]] = salt;
            }
        }
    }

    /**
     * A key rotation's second chance: the ACKs no salt of the issued secret validated are hashed again under the
     * accepted secret's salt {@code salt}. Costs nothing when every ACK validated (and nothing at all outside a
     * rotation: the engine calls this only then).
     */
    void recheck(final long k0, final long k1, final long salt, final AckLanes owners) {
        boolean failed = false;
        for (int p = 0; p < count && !failed; p++) {
            failed = (owner[p] < 0 ? epoch[p] : owners.epoch[owner[p]]) == NOT_VALID;
        }
        if (!failed) {
            return;
        }
        messages.hash(k0, k1, count);
        for (int p = 0; p < count; p++) {
            if (!SynCookie.matches(messages.hash[p], cookie[p], timestamps[p], tsEcho[p])) {
                continue;
            }
            if (owner[p] < 0) {
                if (epoch[p] == NOT_VALID) {
                    epoch[p] = salt;
                }
            } else if (owners.epoch[owner[p]] == NOT_VALID) {
                owners.epoch[owner[p]] = salt;
            }
        }
    }
}
