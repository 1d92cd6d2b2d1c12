package io.synproxy.engine;


import static io.synproxy.packet.Bytes.getLE32;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.setU8;

import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.cookie.SynCookie;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import io.synproxy.packet.TcpOptions;
import java.lang.foreign.MemorySegment;

/**
 * The SYN stage: a SYN to a VIP is checked and turned around in place into the SYN-ACK whose ISN is the cookie.
 * Everything but the cookie is written as the frame arrives ({@link #v4}, {@link #v6}); the burst's cookies are then
 * hashed together in SIMD lanes ({@link SynLanes}, this stage's table) and each SYN-ACK gets its sequence number,
 * TSval and checksum ({@link #finish}).
 *
 * The SYN-ACK's bytes are written by {@link SynAckWriter} (its header drawn there). The IP header is rewritten whole
 * (addresses swapped, our TTL), the MACs swapped; a port that computes checksums
 * ({@link PacketEngine#setTxChecksumOffload}) gets the IPv4 and TCP sums left to it.
 */
final class SynStage {
    private static final int ECE_CWR = TcpHeader.ECE | TcpHeader.CWR;
    private static final int DEFAULT_MSS_V4 = 536;
    private static final int DEFAULT_MSS_V6 = 1220;

    private final BurstTable burst;
    private final EngineCounters counters;
    private final TcpOptions options = new TcpOptions();
    /** The SYN-ACKs of the current burst waiting for their cookies, by address family. */
    private final SynLanes synAcksV4 = new SynLanes(BurstTable.CAPACITY, false);
    private final SynLanes synAcksV6 = new SynLanes(BurstTable.CAPACITY, true);

    // The configuration's part (EngineSettings), swapped in whole between bursts.
    private VipTable vips;
    private int[] mssTableV4;
    private int[] mssTableV6;
    private int advertisedMssV4;
    private int advertisedMssV6;
    /** Our window scale, or -1 when window scaling is disabled. */
    private int windowScale;
    private int window;
    private boolean sackEnabled;
    private boolean timestampsEnabled;
    private boolean ecnEnabled;
    private SaltSnapshot salts;
    /**
     * The TX checksum offloads ({@link FrameDescriptors#TX_IP_CHECKSUM}, {@link FrameDescriptors#TX_TCP_CHECKSUM})
     * the receiving port has enabled: SYN-ACKs leave those checksums to it. 0: every sum in software.
     */
    private int clientTxChecksum;

    SynStage(final BurstTable burst) {
        this.burst = burst;
        this.counters = burst.counters;
    }

    void apply(final EngineSettings s) {
        this.vips = s.vips;
        this.mssTableV4 = s.mssTableV4;
        this.mssTableV6 = s.mssTableV6;
        this.advertisedMssV4 = s.advertisedMssV4;
        this.advertisedMssV6 = s.advertisedMssV6;
        this.windowScale = s.windowScale;
        this.window = s.window;
        this.sackEnabled = s.sackEnabled;
        this.timestampsEnabled = s.timestampsEnabled;
        this.ecnEnabled = s.ecnEnabled;
    }

    void applySalts(final SaltSnapshot snapshot) {
        this.salts = snapshot;
    }

    void setTxChecksumOffload(final int offloads) {
        this.clientTxChecksum = offloads;
    }


    /**
     * Completes the burst's SYN-ACKs, each family's cookies hashed together in SIMD lanes, then in each the sequence
     * number, TSval and checksum written.
     *
     * @param staleSalt whether the salt is past its epoch (the control thread has stopped replacing it)
     */
    void finish(final MemorySegment mem, final boolean staleSalt) {
        finish(mem, synAcksV4, staleSalt);
        finish(mem, synAcksV6, staleSalt);
    }

    /**
     * Completes the SYN-ACKs of one address family in the burst: their cookies hashed together in SIMD lanes, then
     * in each the sequence number, TSval and checksum written. Everything else was written in the first pass.
     */
    private void finish(final MemorySegment mem, final SynLanes lanes, final boolean staleSalt) {
        final int count = lanes.count;
        if (count == 0) {
            return;
        }
        if (staleSalt) {
            // Still answered: this node validates its own cookies with the same salt, and a node without SYN-ACKs
            // would be down. Counted, so the watchdog (SaltWatchdog) and the operator see it.
            counters.add(EngineCounters.SYN_ACKS_STALE_SALT, count);
        }
        final SaltSnapshot keys = salts;
        lanes.hashAll(keys.currentK0(), keys.currentK1());
        if ((clientTxChecksum & FrameDescriptors.TX_TCP_CHECKSUM) != 0) {
            SynAckWriter.completeOffloaded(mem, lanes);
            return;
        }
        for (int p = 0; p < count; p++) {
            SynAckWriter.complete(mem, lanes.tcp[p], lanes.cookie(p), lanes.timestamps[p], lanes.tsValue(p),
                lanes.sum[p]);
        }
        lanes.count = 0;
    }

    /**
     * An IPv4 SYN to a VIP: checked, then turned around in place except for its TCP header, which waits for the
     * burst's cookies ({@link #finish}).
     *
     * @param addressesBe source and destination address as one big-endian word
     * @param t0 the TCP header's first 8 bytes (ports, sequence), big-endian
     * @param t1 its next 8 bytes (acknowledgment, data offset, flags, window), big-endian
     */
    int v4(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
                      final int length, final int l2, final long ip, final long tcp, final int segmentLength,
                      final int tcpLength, final int flags, final int rxFlags, final long addressesBe, final long t0,
                      final long t1) {
        if ((flags & TcpHeader.RST) != 0) {
            return DropReason.SYN_RST.ordinal();
        }
        if ((flags & TcpHeader.FIN) != 0) {
            return DropReason.SYN_FIN.ordinal();
        }
        final int source = (int) (addressesBe >>> 32);
        if (Martians.v4(source) || vips.ownsV4(source)) {
            // Answering would reflect a SYN-ACK at a broadcast, loopback or our own address. Only SYNs are answered;
            // anything else from such a source goes to a backend that has no socket for it.
            return DropReason.MARTIAN_SOURCE.ordinal();
        }
        final long optionsAt = tcp + TcpHeader.OPTIONS_OFFSET;
        final int optionsLength = tcpLength - TcpHeader.MIN_LENGTH;
        final int checksumUrgent = getU32(mem, tcp + TcpHeader.CHECKSUM_OFFSET);
        final long optionsSum;
        if (optionsLength == TcpOptions.LINUX_LAYOUT_LENGTH) {
            // Linux's layout, the common case: three loads give the options and their checksum sum.
            final long head = getU64(mem, optionsAt);
            final long timestamps = getU64(mem, optionsAt + 8);
            final int tail = getU32(mem, optionsAt + 16);
            if (!options.parseLinuxLayout(head, timestamps, tail)
                && !options.parse(mem, optionsAt, optionsLength)) {
                return DropReason.BAD_TCP_OPTIONS.ordinal();
            }
            optionsSum = Checksum.sum64(head) + Checksum.sum64(timestamps) + Checksum.sum32(tail);
        } else {
            if (!options.parse(mem, optionsAt, optionsLength)) {
                return DropReason.BAD_TCP_OPTIONS.ordinal();
            }
            optionsSum = (rxFlags & FrameDescriptors.RX_L4_CHECKSUM_GOOD) == 0
                ? Checksum.sum(mem, optionsAt, optionsLength) : 0;
        }
        final long pseudo = Checksum.sum64(addressesBe) + Ipv4Header.PROTOCOL_TCP;
        if ((rxFlags & FrameDescriptors.RX_L4_CHECKSUM_GOOD) == 0 && !Checksum.verifies(pseudo + segmentLength
            + Checksum.sum64(t0) + Checksum.sum64(t1) + Checksum.sum32(checksumUrgent) + optionsSum
            + payloadSum(mem, tcp, tcpLength, segmentLength))) {
            return DropReason.BAD_TCP_CHECKSUM.ordinal();
        }
        countSynData(segmentLength, tcpLength);
        final int isn = TcpHeader.sequence(t0);
        final int bits = SynCookie.withParity(salts, synOptionBits(flags, mssTableV4, DEFAULT_MSS_V4));
        final boolean timestamps = timestampsEnabled && options.timestamps;
        final int tcpOut = TcpHeader.MIN_LENGTH + SynAckWriter.optionsLength(bits, timestamps);
        final int outLength = l2 + Ipv4Header.MIN_LENGTH + tcpOut;
        if (!SynAckWriter.fits(descriptors, index, length, outLength)) {
            return DropReason.NO_ROOM.ordinal();
        }
        SynAckWriter.swapMacs(mem, frame);
        if (clientTxChecksum != 0) {
            return offloadedSynAckV4(mem, descriptors, index, frame, l2, ip, tcpOut, isn, bits, pseudo, timestamps,
                addressesBe, t0);
        }
        Ipv4Header.write(mem, ip, 0, Ipv4Header.MIN_LENGTH + tcpOut, Ipv4Header.DEFAULT_TTL,
            Ipv4Header.PROTOCOL_TCP, (int) addressesBe, (int) (addressesBe >>> 32));
        final long portsAndIsn = Long.reverseBytes(t0);
        final long tcpAt = ip + Ipv4Header.MIN_LENGTH;
        final long partialSum = SynAckWriter.writeTcpHeader(mem, tcpAt, (int) portsAndIsn, isn, bits,
            advertisedMssV4, pseudo, timestamps, options.tsValue, true, window, windowScale);
        // The cookie, and with it the sequence number, TSval and checksum, waits for the whole burst's cookies to be
        // hashed together.
        synAcksV4.addV4(tcpAt, bits, partialSum, timestamps, Long.reverseBytes(addressesBe), portsAndIsn);
        return transmitToClient(mem, descriptors, index, frame, outLength);
    }

    /**
     * {@link #v4}'s last part when the receiving port computes checksums
     * ({@link PacketEngine#setTxChecksumOffload}): the same SYN-ACK, with the IPv4 header checksum left 0 for the
     * port (no header sum made) and the TCP checksum field holding the pseudo-header sum for it (no header and options
     * sum, no cookie and TSval sum in {@link SynAckWriter#completeOffloaded}); the descriptor asks the port for both.
     */
    private int offloadedSynAckV4(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                  final long frame, final int l2, final long ip, final int tcpOut, final int isn,
                                  final int bits, final long pseudo, final boolean timestamps, final long addressesBe,
                                  final long t0) {
        final int offload = clientTxChecksum;
        final int totalLength = Ipv4Header.MIN_LENGTH + tcpOut;
        if ((offload & FrameDescriptors.TX_IP_CHECKSUM) != 0) {
            Ipv4Header.writeUnsummed(mem, ip, 0, totalLength, Ipv4Header.DEFAULT_TTL, Ipv4Header.PROTOCOL_TCP,
                (int) addressesBe, (int) (addressesBe >>> 32));
        } else {
            Ipv4Header.write(mem, ip, 0, totalLength, Ipv4Header.DEFAULT_TTL, Ipv4Header.PROTOCOL_TCP,
                (int) addressesBe, (int) (addressesBe >>> 32));
        }
        final long portsAndIsn = Long.reverseBytes(t0);
        final long tcpAt = ip + Ipv4Header.MIN_LENGTH;
        final long sum = SynAckWriter.writeTcpHeader(mem, tcpAt, (int) portsAndIsn, isn, bits, advertisedMssV4, pseudo,
            timestamps, options.tsValue, (offload & FrameDescriptors.TX_TCP_CHECKSUM) == 0, window, windowScale);
        synAcksV4.addV4(tcpAt, bits, sum, timestamps, Long.reverseBytes(addressesBe), portsAndIsn);
        return transmitToClient(mem, descriptors, index, frame, l2 + totalLength,
            FrameDescriptors.txRequest(offload, l2, Ipv4Header.MIN_LENGTH, tcpOut));
    }

    /**
     * An IPv6 SYN to a VIP: as {@link #v4}; the addresses and ports are read again here (they are in cache: the
     * parse stage has just read them), which keeps the hand-over short.
     */
    int v6(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
           final int length, final int l2, final long ip, final long tcp, final int segmentLength, final int tcpLength,
           final int flags, final int rxFlags) {
        final long clientHigh = getU64(mem, ip + Ipv6Header.SOURCE_OFFSET);
        final long clientLow = getU64(mem, ip + Ipv6Header.SOURCE_OFFSET + 8);
        if (Martians.v6(clientHigh, clientLow) || vips.ownsV6(clientHigh, clientLow)) {
            return DropReason.MARTIAN_SOURCE.ordinal();
        }
        final long vipHigh = getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET);
        final long vipLow = getU64(mem, ip + Ipv6Header.DESTINATION_OFFSET + 8);
        final int ports = getLE32(mem, tcp);
        final long pseudo = Checksum.sum64(clientHigh) + Checksum.sum64(clientLow) + Checksum.sum64(vipHigh)
            + Checksum.sum64(vipLow) + Ipv6Header.NEXT_TCP;
        final int reason = checkSyn(mem, tcp, flags, segmentLength, tcpLength, rxFlags, pseudo);
        if (reason != 0) {
            return reason;
        }
        final int isn = TcpHeader.sequence(mem, tcp);
        final int bits = SynCookie.withParity(salts, synOptionBits(flags, mssTableV6, DEFAULT_MSS_V6));
        final boolean timestamps = timestampsEnabled && options.timestamps;
        final int tcpOut = TcpHeader.MIN_LENGTH + SynAckWriter.optionsLength(bits, timestamps);
        final int outLength = l2 + Ipv6Header.LENGTH + tcpOut;
        if (!SynAckWriter.fits(descriptors, index, length, outLength)) {
            return DropReason.NO_ROOM.ordinal();
        }
        SynAckWriter.swapMacs(mem, frame);
        Ipv6Header.write(mem, ip, 0, 0, tcpOut, Ipv6Header.NEXT_TCP, Ipv6Header.DEFAULT_HOP_LIMIT, vipHigh,
            vipLow, clientHigh, clientLow);
        final long tcpAt = ip + Ipv6Header.LENGTH;
        // The cookie and flow hash read the addresses as little-endian message words.
        final long a0 = Long.reverseBytes(clientHigh);
        final long a1 = Long.reverseBytes(clientLow);
        final long a2 = Long.reverseBytes(vipHigh);
        final long a3 = Long.reverseBytes(vipLow);
        if (clientTxChecksum != 0) {
            return offloadedSynAckV6(mem, descriptors, index, frame, l2, tcpAt, tcpOut, ports, isn, bits, pseudo,
                timestamps, a0, a1, a2, a3);
        }
        final long partialSum = SynAckWriter.writeTcpHeader(mem, tcpAt, ports, isn, bits, advertisedMssV6, pseudo,
            timestamps, options.tsValue, true, window, windowScale);
        // The cookie, as for IPv4, waits for the burst's other IPv6 cookies: see finish.
        synAcksV6.addV6(tcpAt, bits, partialSum, timestamps, a0, a1, a2, a3, SynCookie.portsAndIsn(ports, isn));
        return transmitToClient(mem, descriptors, index, frame, outLength);
    }


    /**
     * The checks of a SYN (no ACK): flags, no payload, a walkable option list (parsed into {@link #options}) and,
     * unless the NIC checked it, the TCP checksum. 0 when it may be answered, else a drop reason.
     *
     * @param pseudo the pseudo-header's unfolded sum without the length
     */
    private int checkSyn(final MemorySegment mem, final long tcp, final int flags, final int segmentLength,
                         final int tcpLength, final int rxFlags, final long pseudo) {
        if ((flags & TcpHeader.RST) != 0) {
            return DropReason.SYN_RST.ordinal();
        }
        if ((flags & TcpHeader.FIN) != 0) {
            return DropReason.SYN_FIN.ordinal();
        }
        if (!options.parse(mem, tcp + TcpHeader.MIN_LENGTH, tcpLength - TcpHeader.MIN_LENGTH)) {
            return DropReason.BAD_TCP_OPTIONS.ordinal();
        }
        if ((rxFlags & FrameDescriptors.RX_L4_CHECKSUM_GOOD) == 0
            && !Checksum.verifies(pseudo + segmentLength + Checksum.sum(mem, tcp, segmentLength))) {
            return DropReason.BAD_TCP_CHECKSUM.ordinal();
        }
        countSynData(segmentLength, tcpLength);
        return 0;
    }

    /** The checksum sum of a SYN's data (none, almost always). */
    private static long payloadSum(final MemorySegment mem, final long tcp, final int tcpLength,
                                   final int segmentLength) {
        return segmentLength == tcpLength ? 0 : Checksum.sum(mem, tcp + tcpLength, segmentLength - tcpLength);
    }

    /**
     * A SYN with data (TCP Fast Open, or a stack that sends data early) is answered like Linux without TFO answers it:
     * the SYN-ACK acknowledges the ISN only, the data is not kept (the client sends it again), no TFO option goes back.
     */
    private void countSynData(final int segmentLength, final int tcpLength) {
        if (segmentLength != tcpLength) {
            counters.increment(EngineCounters.SYN_DATA_IGNORED);
        }
    }

    /** The cookie's option bits for the SYN just parsed into {@link #options}, limited to what is enabled. */
    private int synOptionBits(final int flags, final int[] mssTable, final int defaultMss) {
        final int mss = options.mss < 0 ? defaultMss : options.mss;
        // Round down to a table entry; below the smallest entry Linux also uses the smallest.
        int mssIndex = SynCookie.MSS_TABLE_SIZE - 1;
        while (mssIndex > 0 && mss < mssTable[mssIndex]) {
            mssIndex--;
        }
        final int wscale = windowScale < 0 || options.windowScale < 0 ? SynCookie.WSCALE_NONE
            : Math.min(options.windowScale, SynCookie.MAX_WSCALE);
        final boolean ecn = ecnEnabled && (flags & ECE_CWR) == ECE_CWR;
        return SynCookie.optionBits(mssIndex, ecn, sackEnabled && options.sackPermitted, wscale);
    }

    /**
     * The IPv6 SYN-ACK's TCP header when the receiving port computes checksums: as in {@link #offloadedSynAckV4}, the
     * TCP checksum field holds the pseudo-header sum for the port and no sum is made here. IPv6 has no header
     * checksum, so a port that offers only the IPv4 header's gets the SYN-ACK summed here and is asked for nothing.
     */
    private int offloadedSynAckV6(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                  final long frame, final int l2, final long tcpAt, final int tcpOut, final int ports,
                                  final int isn, final int bits, final long pseudo, final boolean timestamps,
                                  final long a0, final long a1, final long a2, final long a3) {
        final boolean tcpOffload = (clientTxChecksum & FrameDescriptors.TX_TCP_CHECKSUM) != 0;
        final long sum = SynAckWriter.writeTcpHeader(mem, tcpAt, ports, isn, bits, advertisedMssV6, pseudo, timestamps,
            options.tsValue, !tcpOffload, window, windowScale);
        synAcksV6.addV6(tcpAt, bits, sum, timestamps, a0, a1, a2, a3, SynCookie.portsAndIsn(ports, isn));
        return transmitToClient(mem, descriptors, index, frame, l2 + Ipv6Header.LENGTH + tcpOut, !tcpOffload ? 0
            : FrameDescriptors.txRequest(FrameDescriptors.TX_TCP_CHECKSUM | FrameDescriptors.TX_IPV6, l2,
                Ipv6Header.LENGTH, tcpOut));
    }

    private int transmitToClient(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                 final long frame, final int outLength) {
        int finalLength = outLength;
        if (outLength < EthernetHeader.MIN_FRAME_LENGTH) {
            for (long at = frame + outLength; at < frame + EthernetHeader.MIN_FRAME_LENGTH; at++) {
                setU8(mem, at, (byte) 0);
            }
            finalLength = EthernetHeader.MIN_FRAME_LENGTH;
        }
        counters.increment(EngineCounters.SYN_ACKS_SENT);
        burst.verdicts |= 1 << Verdict.TX_CLIENT;
        FrameDescriptors.setResult(descriptors, index, frame, finalLength, Verdict.TX_CLIENT);
        return DropReason.NONE.ordinal();
    }

    /**
     * {@link #transmitToClient} for a receiving port that reads TX requests: the request written with the verdict, in
     * one store ({@link FrameDescriptors#setResult(MemorySegment, int, long, int, int, int)}).
     */
    private int transmitToClient(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                 final long frame, final int outLength, final int txRequest) {
        // Padded with zeros to the Ethernet minimum, as above.
        final int finalLength = Math.max(outLength, EthernetHeader.MIN_FRAME_LENGTH);
        for (long at = frame + outLength; at < frame + finalLength; at++) {
            setU8(mem, at, (byte) 0);
        }
        counters.increment(EngineCounters.SYN_ACKS_SENT);
        burst.verdicts |= 1 << Verdict.TX_CLIENT;
        FrameDescriptors.setResult(descriptors, index, frame, finalLength, Verdict.TX_CLIENT, txRequest);
        return DropReason.NONE.ordinal();
    }
}
