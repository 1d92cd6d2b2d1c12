package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getU32;

import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.cookie.SynCookie;
import io.synproxy.packet.TcpHeader;
import io.synproxy.packet.TcpOptions;
import java.lang.foreign.MemorySegment;

/**
 * The ACK stage: an ACK to a VIP (no SYN, no RST) may complete a handshake. Its cookie (the acknowledgment number
 * less one) is checked under the salt its epoch bit names, together with the burst's other ACKs under that salt
 * ({@link AckLanes}, this stage's tables: one per family and salt), and the ACK is encapsulated once: marked when the
 * cookie validates (with the epoch that issued it and the client's MSS), unmarked otherwise (established traffic or a
 * forgery: the backend decides).
 *
 * <pre>
 *  the ACK's TCP header, as the stage reads it
 *  +---------+---------------+------------------+-----------------+--------------------------------+
 *  | ports   | seq = ISN + 1 | ack = cookie + 1 | offset, flags   | [NOP NOP TS: TSval, TSecr]     |
 *  +---------+---------------+------------------+-----------------+--------------------------------+
 *    message   message          checked           ACK only          TSecr checked (carries the cookie
 *                                                                   bits when the client uses them)
 * </pre>
 */
final class AckStage {
    private final BurstTable burst;
    private final EncapStage encap;
    private final EngineCounters counters;
    private final TcpOptions options = new TcpOptions();
    /** ACKs of the current burst waiting for their cookie checks: by family and the salt their epoch bit names. */
    private final AckLanes currentEpochAcksV4 = new AckLanes(BurstTable.CAPACITY, false);
    private final AckLanes previousEpochAcksV4 = new AckLanes(BurstTable.CAPACITY, false);
    private final AckLanes nextEpochAcksV4 = new AckLanes(BurstTable.CAPACITY, false);
    private final AckLanes currentEpochAcksV6 = new AckLanes(BurstTable.CAPACITY, true);
    private final AckLanes previousEpochAcksV6 = new AckLanes(BurstTable.CAPACITY, true);
    private final AckLanes nextEpochAcksV6 = new AckLanes(BurstTable.CAPACITY, true);
    private int[] mssTableV4;
    private int[] mssTableV6;
    private SaltSnapshot salts;
    /** The TSecr {@link #ackTimestamps} found. */
    private int ackTsEcho;

    AckStage(final BurstTable burst, final EncapStage encap) {
        this.burst = burst;
        this.counters = burst.counters;
        this.encap = encap;
    }

    void apply(final EngineSettings s) {
        this.mssTableV4 = s.mssTableV4;
        this.mssTableV6 = s.mssTableV6;
    }

    void applySalts(final SaltSnapshot snapshot) {
        this.salts = snapshot;
    }

    /**
     * An IPv4 ACK: queued for its cookie check, or encapsulated unmarked at once when its epoch bit names an expired
     * salt. Returns a drop reason, or {@code NONE}.
     *
     * @param addresses source and destination as the cookie's little-endian message word
     * @param ports     the TCP ports as read little-endian
     * @param t0        the TCP header's first 8 bytes (ports, sequence), big-endian
     * @param t1        its next 8 bytes (acknowledgment, data offset, flags, window), big-endian
     */
    int v4(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
           final long ip, final int totalLength, final long tcp, final long flow, final long addresses,
           final int ports, final long t0, final long t1) {
        final int cookie = TcpHeader.acknowledgment(t1) - 1;
        final SaltSnapshot keys = salts;
        final int bits = cookie & SynCookie.OPTION_MASK;
        if (!keys.accepts(bits)) {
            // An epoch bit naming an expired salt: no hash can validate it.
            counters.increment(EngineCounters.ACKS_NOT_VALIDATED);
            return encap.unmarked(mem, descriptors, index, frame, ip, false, totalLength, tcp, flow,
                EncapStage.TCP);
        }
        // Checked with the rest of the burst's ACKs, hashed together: see finish.
        final boolean timestamps = ackTimestamps(mem, tcp, TcpHeader.headerLength(t1));
        final int isn = TcpHeader.sequence(t0) - 1;
        final AckLanes owners = keys.isCurrent(bits) ? currentEpochAcksV4
            : keys.previousValid() ? previousEpochAcksV4 : nextEpochAcksV4;
        final int p = owners.add(index, frame, ip, totalLength, tcp, flow, cookie, timestamps, ackTsEcho);
        owners.messageV4(p, addresses, ports, isn);
        if (owners == previousEpochAcksV4 && keys.nextValid()) {
            // Near a boundary the other parity may also be a node ahead of us: the next epoch's key too.
            nextEpochAcksV4.messageV4(nextEpochAcksV4.also(p, cookie, timestamps, ackTsEcho), addresses, ports,
                isn);
        }
        return DropReason.NONE.ordinal();
    }

    /**
     * An IPv6 ACK, as {@link #v4}.
     *
     * @param a0 the addresses as the cookie's little-endian message words (source high, low, destination high, low)
     */
    int v6(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
           final long ip, final int packetLength, final long tcp, final int tcpLength, final long flow,
           final long a0, final long a1, final long a2, final long a3, final int ports) {
        final int cookie = TcpHeader.acknowledgment(mem, tcp) - 1;
        final SaltSnapshot keys = salts;
        final int bits = cookie & SynCookie.OPTION_MASK;
        if (!keys.accepts(bits)) {
            counters.increment(EngineCounters.ACKS_NOT_VALIDATED);
            return encap.unmarked(mem, descriptors, index, frame, ip, true, packetLength, tcp, flow,
                EncapStage.TCP);
        }
        final boolean timestamps = ackTimestamps(mem, tcp, tcpLength);
        final int isn = TcpHeader.sequence(mem, tcp) - 1;
        final AckLanes owners = keys.isCurrent(bits) ? currentEpochAcksV6
            : keys.previousValid() ? previousEpochAcksV6 : nextEpochAcksV6;
        final int p = owners.add(index, frame, ip, packetLength, tcp, flow, cookie, timestamps, ackTsEcho);
        owners.messageV6(p, a0, a1, a2, a3, ports, isn);
        if (owners == previousEpochAcksV6 && keys.nextValid()) {
            nextEpochAcksV6.messageV6(nextEpochAcksV6.also(p, cookie, timestamps, ackTsEcho), a0, a1, a2, a3,
                ports, isn);
        }
        return DropReason.NONE.ordinal();
    }


    /**
     * Checks the cookies of the burst's ACKs, each family's under each salt hashed together in SIMD lanes, and
     * encapsulates each ACK once: marked when its cookie validates (with the epoch that issued it and the client's
     * MSS), unmarked otherwise (established traffic or a forgery: the backend decides). The previous epoch's group
     * is checked before the next one's, whose second checks write into it.
     */
    void finish(final MemorySegment mem, final MemorySegment descriptors) {
        final SaltSnapshot keys = salts;
        final long epoch = keys.epoch();
        currentEpochAcksV4.check(keys.currentK0(), keys.currentK1(), epoch, null);
        previousEpochAcksV4.check(keys.previousK0(), keys.previousK1(), epoch - 1, null);
        nextEpochAcksV4.check(keys.nextK0(), keys.nextK1(), epoch + 1, previousEpochAcksV4);
        currentEpochAcksV6.check(keys.currentK0(), keys.currentK1(), epoch, null);
        previousEpochAcksV6.check(keys.previousK0(), keys.previousK1(), epoch - 1, null);
        nextEpochAcksV6.check(keys.nextK0(), keys.nextK1(), epoch + 1, previousEpochAcksV6);
        final SaltSnapshot accepted = keys.alternate();
        if (accepted != null) {
            // A key rotation: what the issued secret did not validate may be another node's cookie under the other.
            currentEpochAcksV4.recheck(accepted.currentK0(), accepted.currentK1(), epoch, null);
            previousEpochAcksV4.recheck(accepted.previousK0(), accepted.previousK1(), epoch - 1, null);
            nextEpochAcksV4.recheck(accepted.nextK0(), accepted.nextK1(), epoch + 1, previousEpochAcksV4);
            currentEpochAcksV6.recheck(accepted.currentK0(), accepted.currentK1(), epoch, null);
            previousEpochAcksV6.recheck(accepted.previousK0(), accepted.previousK1(), epoch - 1, null);
            nextEpochAcksV6.recheck(accepted.nextK0(), accepted.nextK1(), epoch + 1, previousEpochAcksV6);
        }
        encapsulateAcks(mem, descriptors, currentEpochAcksV4);
        encapsulateAcks(mem, descriptors, previousEpochAcksV4);
        encapsulateAcks(mem, descriptors, nextEpochAcksV4);
        encapsulateAcks(mem, descriptors, currentEpochAcksV6);
        encapsulateAcks(mem, descriptors, previousEpochAcksV6);
        encapsulateAcks(mem, descriptors, nextEpochAcksV6);
    }

    /** Encapsulates the checked ACKs one group owns, and empties the group. */
    private void encapsulateAcks(final MemorySegment mem, final MemorySegment descriptors, final AckLanes lanes) {
        final int[] mssTable = lanes.v6 ? mssTableV6 : mssTableV4;
        for (int p = 0; p < lanes.count; p++) {
            if (lanes.owner[p] >= 0) {
                continue;
            }
            final long issued = lanes.epoch[p];
            final boolean valid = issued != AckLanes.NOT_VALID;
            counters.increment(valid ? EngineCounters.ACKS_VALID : EngineCounters.ACKS_NOT_VALIDATED);
            final int mss = valid ? mssTable[SynCookie.mssIndex(lanes.cookie[p])] : 0;
            final int reason = encap.encapsulate(mem, descriptors, lanes.index[p], lanes.frame[p], lanes.ip[p],
                lanes.v6, lanes.ipLength[p], lanes.tcp[p], lanes.flowHash[p],
                valid ? EncapStage.HANDSHAKE : EncapStage.TCP, issued, mss);
            if (reason != DropReason.NONE.ordinal()) {
                burst.drop(descriptors, lanes.index[p], reason);
            }
        }
        lanes.count = 0;
    }

    /**
     * Whether an ACK carries a timestamp option; if so its TSecr is left in {@link #ackTsEcho}. The common layout
     * (NOP, NOP, timestamps: what Linux sends) is one load; anything else is walked. A malformed option list counts
     * as no timestamps, as the backend's kernel would read it.
     */
    private boolean ackTimestamps(final MemorySegment mem, final long tcp, final int tcpLength) {
        if (tcpLength == TcpHeader.MIN_LENGTH + TcpOptions.ACK_TIMESTAMPS_LENGTH
            && getU32(mem, tcp + TcpHeader.OPTIONS_OFFSET) == TcpOptions.NOP_NOP_TIMESTAMPS) {
            ackTsEcho = getU32(mem, tcp + TcpHeader.OPTIONS_OFFSET + TcpOptions.ACK_TSECR_OFFSET);
            return true;
        }
        if (tcpLength > TcpHeader.MIN_LENGTH && options.parse(mem, tcp + TcpHeader.OPTIONS_OFFSET,
            tcpLength - TcpHeader.MIN_LENGTH) && options.timestamps) {
            ackTsEcho = options.tsEcho;
            return true;
        }
        return false;
    }
}
