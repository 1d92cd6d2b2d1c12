package io.synproxy.engine;

import io.synproxy.cookie.SipHashLanes;
import io.synproxy.cookie.SynCookie;

/**
 * IPv4 ACKs of one burst waiting for their cookies to be checked, one lane each, all checked under one salt: their
 * SipHashes run together in SIMD lanes ({@link SipHashLanes#hash3}), then each is encapsulated. What the check and the
 * encapsulation need is kept as primitives, one array per field.
 */
final class AckLanes {
    final int[] index;
    final long[] frame;
    final long[] ip;
    final int[] totalLength;
    final long[] tcp;
    final long[] flowHash;
    /** The MAC bits the ACK's cookie carries (the option bits masked off). */
    final int[] mac;
    final long[] addresses;
    final long[] portsAndIsn;
    final long[] finalBlock;
    final long[] hash;
    int count;

    AckLanes(final int capacity) {
        index = new int[capacity];
        frame = new long[capacity];
        ip = new long[capacity];
        totalLength = new int[capacity];
        tcp = new long[capacity];
        flowHash = new long[capacity];
        mac = new int[capacity];
        final int padded = SipHashLanes.paddedLength(capacity);
        addresses = new long[padded];
        portsAndIsn = new long[padded];
        finalBlock = new long[padded];
        hash = new long[padded];
    }

    /**
     * Queues an ACK.
     *
     * @param cookie the acknowledgment number minus one
     * @param clientIsn the sequence number minus one
     */
    void add(final int frameIndex, final long frameAddress, final long ipAddress, final int ipLength,
             final long tcpAddress, final long flow, final long addressWord, final int ports, final int clientIsn,
             final int cookie) {
        final int p = count++;
        index[p] = frameIndex;
        frame[p] = frameAddress;
        ip[p] = ipAddress;
        totalLength[p] = ipLength;
        tcp[p] = tcpAddress;
        flowHash[p] = flow;
        mac[p] = cookie & ~SynCookie.OPTION_MASK;
        addresses[p] = addressWord;
        portsAndIsn[p] = SynCookie.portsAndIsn(ports, clientIsn);
        finalBlock[p] = SynCookie.finalBlockV4(cookie & SynCookie.OPTION_MASK);
    }

    /** Hashes every queued ACK's message under one key; then {@link #valid} answers for each. */
    void hashAll(final long k0, final long k1) {
        SipHashLanes.hash3(k0, k1, addresses, portsAndIsn, finalBlock, hash, count);
    }

    boolean valid(final int p) {
        return SynCookie.cookie(hash[p], 0) == mac[p];
    }
}
