package io.synproxy.engine;

import static io.synproxy.packet.Bytes.LE32;
import static io.synproxy.packet.Bytes.LE64;
import static io.synproxy.packet.Bytes.U16;
import static io.synproxy.packet.Bytes.U32;
import static io.synproxy.packet.Bytes.U64;
import static io.synproxy.packet.Bytes.U8;

import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.cookie.SipHash;
import io.synproxy.cookie.SynCookie;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EncapHeader;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.IcmpError;
import io.synproxy.packet.Icmpv6Header;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import io.synproxy.packet.TcpOptions;
import io.synproxy.packet.UdpHeader;
import java.lang.foreign.MemorySegment;

/**
 * The per-packet brain: a burst of frames in, a verdict per frame out, frames rewritten in place.
 *
 * <ul>
 *   <li>SYN to a VIP: rewritten into the SYN-ACK whose ISN is the cookie ({@link Verdict#TX_CLIENT}).</li>
 *   <li>ACK to a VIP whose cookie validates: encapsulated to its Maglev backend with the handshake mark
 *       ({@link Verdict#TX_BACKEND}).</li>
 *   <li>Other TCP to a VIP (data, FIN, RST, ACKs that do not validate): encapsulated unmarked; the backend decides.</li>
 *   <li>Everything else: dropped with a counted {@link DropReason}.</li>
 * </ul>
 *
 * <p>One instance per worker, used by one thread. No allocation, no locks, no exceptions on any input: every read is
 * preceded by a check that the bytes lie inside the frame, and every write by a check that they lie inside the
 * frame's buffer (length plus the descriptor's headroom and tailroom). Salts and backends are immutable snapshots the
 * worker swaps in between bursts ({@link #applySalts}, {@link #applyBackends}).
 */
public final class PacketEngine {
    private static final int ECE_CWR = TcpHeader.ECE | TcpHeader.CWR;
    private static final int OUTER_V4 = EthernetHeader.LENGTH + Ipv4Header.MIN_LENGTH + UdpHeader.LENGTH
        + EncapHeader.LENGTH;
    private static final int OUTER_V6 = EthernetHeader.LENGTH + Ipv6Header.LENGTH + UdpHeader.LENGTH
        + EncapHeader.LENGTH;
    /** Bounds the IPv6 extension-header walk: a longer chain is an attack or a misconfiguration, not traffic. */
    private static final int MAX_IPV6_EXTENSIONS = 4;
    /**
     * How late a salt may be before the SYN-ACKs issued under it are counted as issued under a stale salt: the control
     * thread publishes each epoch's salt before it starts, so a second past the boundary means it has stopped.
     */
    public static final long STALE_SALT_AFTER_MILLIS = 1000;
    private static final int DEFAULT_MSS_V4 = 536;
    private static final int DEFAULT_MSS_V6 = 1220;

    // The configuration's part (EngineSettings), swapped in whole between bursts on a reload.
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
    private int encapPort;
    private FlowHash flowHash;
    private EngineSettings settings;
    private final EngineCounters counters = new EngineCounters();
    private final TcpOptions options = new TcpOptions();

    private NeighbourResponder neighbours;
    private PathMtu pathMtu;
    private final ChainedHeader chain = new ChainedHeader();
    /** What {@link #encapsulate} carries: a validated handshake, other TCP (may be chained), an ICMP error. */
    private static final int HANDSHAKE = 0;
    private static final int TCP = 1;
    private static final int ICMP = 2;
    /** The wall clock of the current burst (ms): when a previous owner stops being named. */
    private long burstMillis;
    /** The exception path's stage, when the receiving port has a host interface; else null. */
    private HostPath host;

    /** Frames a burst is processed in, at most: the lanes below hold one each. */
    private static final int MAX_PENDING = 64;
    /** The verdicts given in the current {@link #process} call, one bit each ({@code 1 << verdict}). */
    private int verdicts;
    /** SYN-ACKs of the current burst waiting for their cookies, by address family. */
    private final SynLanes synAcksV4 = new SynLanes(MAX_PENDING, false);
    private final SynLanes synAcksV6 = new SynLanes(MAX_PENDING, true);
    /** ACKs of the current burst waiting for their cookie checks: by family and the salt their epoch bit names. */
    private final AckLanes currentEpochAcksV4 = new AckLanes(MAX_PENDING, false);
    private final AckLanes previousEpochAcksV4 = new AckLanes(MAX_PENDING, false);
    private final AckLanes nextEpochAcksV4 = new AckLanes(MAX_PENDING, false);
    private final AckLanes currentEpochAcksV6 = new AckLanes(MAX_PENDING, true);
    private final AckLanes previousEpochAcksV6 = new AckLanes(MAX_PENDING, true);
    private final AckLanes nextEpochAcksV6 = new AckLanes(MAX_PENDING, true);
    /** Authenticators of the burst's encapsulated ACKs, computed together once their marks are known. */
    private final AuthLanes authenticatorsV4 = new AuthLanes(MAX_PENDING, false);
    private final AuthLanes authenticatorsV6 = new AuthLanes(MAX_PENDING, true);
    private SaltSnapshot salts;
    private BackendTable backends;
    /** The configuration the engine was made with (setHostPath builds from it). */
    private final ProxyConfig config;
    /** The TSecr {@link #ackTimestamps} found. */
    private int ackTsEcho;
    /** The receiving port's MAC (ARP and ND replies), or -1: unknown, answer only requests sent to us directly. */
    private long localMac = -1;
    /** The backend-facing port's MAC (outer source), or -1: the receiving port's, as the frame addressed it. */
    private long backendMac = -1;
    /**
     * The TX checksum offloads ({@link FrameDescriptors#TX_IP_CHECKSUM}, {@link FrameDescriptors#TX_TCP_CHECKSUM})
     * the receiving port has enabled: SYN-ACKs leave those checksums to it. 0 (the default): every sum in software.
     */
    private int clientTxChecksum;
    /** The same for the backend port: the encapsulation's outer IPv4 header checksum. */
    private int backendTxChecksum;

    public PacketEngine(final ProxyConfig config, final ProxyKeys keys, final SaltSnapshot salts,
                        final BackendTable backends) {
        this.config = config;
        applySettings(EngineSettings.of(config, keys.flowHash()));
        this.salts = salts;
        this.backends = backends;
    }

    /** Takes a configuration's settings (between bursts: a burst sees one configuration). */
    public void applySettings(final EngineSettings s) {
        this.settings = s;
        this.vips = s.vips;
        this.neighbours = s.neighbours;
        this.pathMtu = s.pathMtu;
        this.mssTableV4 = s.mssTableV4;
        this.mssTableV6 = s.mssTableV6;
        this.advertisedMssV4 = s.advertisedMssV4;
        this.advertisedMssV6 = s.advertisedMssV6;
        this.windowScale = s.windowScale;
        this.window = s.window;
        this.sackEnabled = s.sackEnabled;
        this.timestampsEnabled = s.timestampsEnabled;
        this.ecnEnabled = s.ecnEnabled;
        this.encapPort = s.encapPort;
        this.flowHash = s.flowHash;
        this.host = s.host;
    }

    /** The settings in force. */
    public EngineSettings settings() {
        return settings;
    }

    public void applySalts(final SaltSnapshot snapshot) {
        this.salts = snapshot;
    }

    public void applyBackends(final BackendTable table) {
        this.backends = table;
    }

    /** The MACs this engine sends from: the receiving port's (replies) and the backend-facing port's (-1: unknown). */
    public void setMacs(final long receivingPort, final long backendPort) {
        this.localMac = receivingPort;
        this.backendMac = backendPort;
    }

    /**
     * The TX checksum offloads the ports this engine sends from have enabled ({@link FrameDescriptors#TX_IP_CHECKSUM}
     * and {@link FrameDescriptors#TX_TCP_CHECKSUM}, as the shim's sp_port_tx_checksum reports them): SYN-ACKs leave
     * by the receiving port, encapsulated packets by the backend port. A checksum the port computes is not computed
     * here, and the frame's descriptor asks the port for it. 0 and 0 (the default): every frame as without offload,
     * byte for byte.
     */
    public void setTxChecksumOffload(final int receivingPort, final int backendPort) {
        final int both = FrameDescriptors.TX_IP_CHECKSUM | FrameDescriptors.TX_TCP_CHECKSUM;
        this.clientTxChecksum = receivingPort & both;
        this.backendTxChecksum = backendPort & both;
    }

    /**
     * Hands the host's kernel what is for it (see {@link HostPath}): frames to {@code hostAddresses} (those from
     * {@code controlPeers} first), ARP and neighbour discovery, and with {@code passOther} anything else that is for
     * no VIP. Without this call such frames are dropped and counted.
     */
    public void setHostPath(final java.util.List<io.synproxy.config.IpAddress> hostAddresses,
                            final java.util.List<io.synproxy.config.IpAddress> controlPeers, final boolean passOther) {
        applySettings(EngineSettings.withHost(config, flowHash, hostAddresses, controlPeers, passOther));
    }

    /** Back to dropping what the proxy has no use for (as without a host interface). */
    public void clearHostPath() {
        applySettings(settings.withoutHost(config));
    }

    public SaltSnapshot salts() {
        return salts;
    }

    public EngineCounters counters() {
        return counters;
    }

    /**
     * Processes {@code count} frames described in {@code descriptors}; frame addresses are offsets into {@code memory}
     * (on the data plane, the whole address space; in tests, a buffer of exactly the frame's size).
     *
     * @param nowMillis wall-clock time (read once a millisecond is enough), used only to notice a salt the control
     *                  thread should have replaced ({@link EngineCounters#SYN_ACKS_STALE_SALT})
     * @return the verdicts given, one bit each ({@code 1 << verdict}): a burst that all goes one way can be handed on
     *         whole
     */
    public int process(final MemorySegment memory, final MemorySegment descriptors, final int count,
                       final long nowMillis) {
        verdicts = 0;
        burstMillis = nowMillis;
        for (int start = 0; start < count; start += MAX_PENDING) {
            final int end = Math.min(count, start + MAX_PENDING);
            for (int i = start; i < end; i++) {
                final int reason = processFrame(memory, descriptors, i, nowMillis);
                if (reason != DropReason.NONE.ordinal()) {
                    refuse(memory, descriptors, i, reason);
                }
            }
            final boolean staleSalt = nowMillis >= salts.epochEndMillis() + STALE_SALT_AFTER_MILLIS;
            finishSynAcks(memory, synAcksV4, staleSalt);
            finishSynAcks(memory, synAcksV6, staleSalt);
            finishAcks(memory, descriptors);
            authenticatorsV4.finish(memory);
            authenticatorsV6.finish(memory);
            counters.add(EngineCounters.FRAMES_RECEIVED, end - start);
        }
        return verdicts;
    }

    /**
     * Completes the SYN-ACKs of one address family in the burst: their cookies hashed together in SIMD lanes, then
     * in each the sequence number, TSval and checksum written. Everything else was written in the first pass.
     */
    private void finishSynAcks(final MemorySegment mem, final SynLanes lanes, final boolean staleSalt) {
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
            completeOffloadedSynAcks(mem, lanes);
            return;
        }
        for (int p = 0; p < count; p++) {
            completeSynAck(mem, lanes.tcp[p], lanes.cookie(p), lanes.timestamps[p], lanes.tsValue(p), lanes.sum[p]);
        }
        lanes.count = 0;
    }

    /**
     * A frame the proxy has no use for: the host's kernel gets it if it is the host's ({@link HostPath}), else it is
     * dropped for {@code reason}. Only refused frames come here: the VIP path never pays for the host's.
     */
    private void refuse(final MemorySegment mem, final MemorySegment descriptors, final int index, final int reason) {
        if (host != null && HostPath.eligible(reason)) {
            final int hostClass = host.classify(mem, FrameDescriptors.address(descriptors, index),
                FrameDescriptors.length(descriptors, index));
            if (hostClass != HostPath.NONE) {
                counters.increment(hostClass == HostPath.CONTROL ? EngineCounters.TO_HOST_CONTROL
                    : EngineCounters.TO_HOST_OTHER);
                verdicts |= 1 << Verdict.TO_HOST;
                FrameDescriptors.setToHost(descriptors, index, hostClass);
                return;
            }
        }
        drop(descriptors, index, reason);
    }

    private void drop(final MemorySegment descriptors, final int index, final int reason) {
        verdicts |= 1 << Verdict.DROP;
        counters.drop(reason);
        FrameDescriptors.setDrop(descriptors, index, reason);
    }

    /**
     * Checks the cookies of the burst's ACKs, each family's under each salt hashed together in SIMD lanes, and
     * encapsulates each ACK once: marked when its cookie validates (with the epoch that issued it and the client's
     * MSS), unmarked otherwise (established traffic or a forgery: the backend decides). The previous epoch's group
     * is checked before the next one's, whose second checks write into it.
     */
    private void finishAcks(final MemorySegment mem, final MemorySegment descriptors) {
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
            final int reason = encapsulate(mem, descriptors, lanes.index[p], lanes.frame[p], lanes.ip[p], lanes.v6,
                lanes.ipLength[p], lanes.tcp[p], lanes.flowHash[p], valid ? HANDSHAKE : TCP, issued, mss);
            if (reason != DropReason.NONE.ordinal()) {
                drop(descriptors, lanes.index[p], reason);
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
            && mem.get(U32, tcp + TcpHeader.OPTIONS_OFFSET) == TcpOptions.NOP_NOP_TIMESTAMPS) {
            ackTsEcho = mem.get(U32, tcp + TcpHeader.OPTIONS_OFFSET + TcpOptions.ACK_TSECR_OFFSET);
            return true;
        }
        if (tcpLength > TcpHeader.MIN_LENGTH && options.parse(mem, tcp + TcpHeader.OPTIONS_OFFSET,
            tcpLength - TcpHeader.MIN_LENGTH) && options.timestamps) {
            ackTsEcho = options.tsEcho;
            return true;
        }
        return false;
    }

    /**
     * Returns a drop reason ordinal, or {@code NONE} when the descriptor holds a transmit verdict or the frame waits
     * in lanes for one (given before {@link #process} returns).
     */
    private int processFrame(final MemorySegment mem, final MemorySegment descriptors, final int index,
                             final long nowMillis) {
        final long frame = FrameDescriptors.address(descriptors, index);
        final int length = FrameDescriptors.length(descriptors, index);
        final int rxFlags = FrameDescriptors.rxFlags(descriptors, index);
        if (length < EthernetHeader.LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        // The I/G bit: the lowest bit of the destination's first byte.
        final boolean group = (mem.get(U8, frame) & 1) != 0;
        int etherType = EthernetHeader.etherType(mem, frame);
        int l2 = EthernetHeader.LENGTH;
        if (etherType == EthernetHeader.ETHER_TYPE_VLAN) {
            if (length < EthernetHeader.LENGTH + EthernetHeader.VLAN_TAG_LENGTH) {
                return DropReason.TRUNCATED.ordinal();
            }
            etherType = mem.get(U16, frame + EthernetHeader.TAGGED_ETHER_TYPE_OFFSET) & 0xffff;
            l2 += EthernetHeader.VLAN_TAG_LENGTH;
        }
        final long ip = frame + l2;
        if (etherType == EthernetHeader.ETHER_TYPE_IPV4) {
            // TCP is only ever for us when sent to our MAC (Linux drops PACKET_BROADCAST and _MULTICAST TCP too).
            return group ? DropReason.NOT_UNICAST.ordinal()
                : processV4(mem, descriptors, index, frame, length, l2, ip, rxFlags, nowMillis);
        }
        if (etherType == EthernetHeader.ETHER_TYPE_IPV6) {
            return processV6(mem, descriptors, index, frame, length, l2, ip, rxFlags, nowMillis, group);
        }
        if (etherType == EthernetHeader.ETHER_TYPE_ARP) {
            return neighbourReply(descriptors, index, frame, neighbours.arp(mem, frame, length, l2,
                FrameDescriptors.tailroom(descriptors, index), localMac));
        }
        return group ? DropReason.NOT_UNICAST.ordinal() : DropReason.NOT_IP.ordinal();
    }

    /** An ICMP message to a VIP address: a path-MTU error for a VIP flow goes to the flow's backend, unmarked. */
    private int pathMtuV4(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
                          final long ip, final int ihl, final int totalLength, final int destination) {
        if (!vips.ownsV4(destination)) {
            return DropReason.NOT_VIP.ordinal();
        }
        final int reason = pathMtu.checkV4(mem, ip + ihl, ip + totalLength, destination);
        if (reason != DropReason.NONE.ordinal()) {
            return reason;
        }
        counters.increment(EngineCounters.ICMP_FORWARDED);
        return encapsulateUnmarked(mem, descriptors, index, frame, ip, false, totalLength, ip + ihl, pathMtu.flow,
            ICMP);
    }

    /** An ICMPv6 "packet too big" for a VIP flow: to the flow's backend, unmarked. */
    private int pathMtuV6(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
                          final long ip, final long icmp, final int packetLength) {
        final int reason = pathMtu.checkV6(mem, ip, icmp, ip + packetLength);
        if (reason != DropReason.NONE.ordinal()) {
            return reason;
        }
        counters.increment(EngineCounters.ICMP_FORWARDED);
        return encapsulateUnmarked(mem, descriptors, index, frame, ip, true, packetLength, icmp, pathMtu.flow, ICMP);
    }

    /** Sends a neighbour reply back, or returns the responder's drop reason. */
    private int neighbourReply(final MemorySegment descriptors, final int index, final long frame,
                               final int result) {
        if (result < 0) {
            return -result;
        }
        counters.increment(EngineCounters.NEIGHBOUR_REPLIES);
        verdicts |= 1 << Verdict.TX_CLIENT;
        FrameDescriptors.setResult(descriptors, index, frame, result, Verdict.TX_CLIENT);
        if (clientTxChecksum != 0) {
            // The port reads every frame's request: ARP has no checksum, ICMPv6's is summed here.
            FrameDescriptors.setTxRequest(descriptors, index, 0);
        }
        return DropReason.NONE.ordinal();
    }

    /**
     * IPv4: the fixed IP header and the TCP header's first 16 bytes are read as five words, once; every field, the
     * header checksum and the cookie's message come from them, not from further reads.
     */
    private int processV4(final MemorySegment mem, final MemorySegment descriptors, final int index,
                          final long frame, final int length, final int l2, final long ip, final int rxFlags,
                          final long nowMillis) {
        if (length < l2 + Ipv4Header.MIN_LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long w0 = mem.get(U64, ip);                        // version+IHL, TOS, length | id, flags+fragment
        final long w1 = mem.get(U64, ip + Ipv4Header.TTL_OFFSET); // TTL, protocol, checksum | source
        final int destination = mem.get(U32, ip + Ipv4Header.DESTINATION_OFFSET);
        final int ihl = Ipv4Header.headerLength(w0);
        if (Ipv4Header.version(w0) != 4 || ihl < Ipv4Header.MIN_LENGTH) {
            return DropReason.BAD_IP_HEADER.ordinal();
        }
        if (length < l2 + ihl) {
            return DropReason.TRUNCATED.ordinal();
        }
        final int totalLength = Ipv4Header.totalLength(w0);
        if (totalLength < ihl) {
            return DropReason.BAD_IP_LENGTH.ordinal();
        }
        if (l2 + totalLength > length) {
            return DropReason.TRUNCATED.ordinal();
        }
        if ((rxFlags & FrameDescriptors.RX_IP_CHECKSUM_GOOD) == 0) {
            long sum = Checksum.sum64(w0) + Checksum.sum64(w1) + Checksum.sum32(destination);
            if (ihl > Ipv4Header.MIN_LENGTH) {
                sum += Checksum.sum(mem, ip + Ipv4Header.MIN_LENGTH, ihl - Ipv4Header.MIN_LENGTH);
            }
            if (!Checksum.verifies(sum)) {
                return DropReason.BAD_IP_CHECKSUM.ordinal();
            }
        }
        if (Ipv4Header.isFragment(w0)) {
            return DropReason.FRAGMENT.ordinal();
        }
        if (Ipv4Header.protocol(w1) != Ipv4Header.PROTOCOL_TCP) {
            return Ipv4Header.protocol(w1) == Ipv4Header.PROTOCOL_ICMP
                ? pathMtuV4(mem, descriptors, index, frame, ip, ihl, totalLength, destination)
                : DropReason.NOT_TCP.ordinal();
        }
        final long tcp = ip + ihl;
        final int segmentLength = totalLength - ihl;
        if (segmentLength < TcpHeader.MIN_LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long t0 = mem.get(U64, tcp);                                   // ports | sequence
        final long t1 = mem.get(U64, tcp + TcpHeader.ACKNOWLEDGMENT_OFFSET); // ack | offset, flags, window
        if (!vips.containsV4(destination, TcpHeader.destinationPort(t0))) {
            return DropReason.NOT_VIP.ordinal();
        }
        final int tcpLength = TcpHeader.headerLength(t1);
        if (tcpLength < TcpHeader.MIN_LENGTH || tcpLength > segmentLength) {
            return DropReason.BAD_DATA_OFFSET.ordinal();
        }
        final int flags = TcpHeader.flags(t1);
        // Source and destination as one big-endian word: its byte-reverse is the cookie's little-endian block.
        final long addressesBe = (w1 << 32) | (destination & 0xffffffffL);
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK)) == TcpHeader.SYN) {
            return synV4(mem, descriptors, index, frame, length, l2, ip, tcp, segmentLength, tcpLength, flags,
                rxFlags, addressesBe, t0, t1);
        }
        final long addresses = Long.reverseBytes(addressesBe);
        final int ports = Integer.reverseBytes((int) (t0 >>> 32));
        final long flow = flowHash.v4(addresses, ports);
        if ((flags & (TcpHeader.ACK | TcpHeader.SYN | TcpHeader.RST)) == TcpHeader.ACK) {
            final int cookie = TcpHeader.acknowledgment(t1) - 1;
            final SaltSnapshot keys = salts;
            final int bits = cookie & SynCookie.OPTION_MASK;
            if (!keys.accepts(bits)) {
                // An epoch bit naming an expired salt: no hash can validate it.
                counters.increment(EngineCounters.ACKS_NOT_VALIDATED);
                return encapsulateUnmarked(mem, descriptors, index, frame, ip, false, totalLength, tcp, flow, TCP);
            }
            // Checked with the rest of the burst's ACKs, hashed together: see finishAcks.
            final boolean timestamps = ackTimestamps(mem, tcp, tcpLength);
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
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == 0) {
            return DropReason.NO_ACK.ordinal();
        }
        counters.increment(EngineCounters.OTHER_FORWARDED);
        return encapsulateUnmarked(mem, descriptors, index, frame, ip, false, totalLength, tcp, flow, TCP);
    }

    /**
     * An IPv4 SYN to a VIP: checked, then turned around in place except for its TCP header, which waits for the
     * burst's cookies ({@link #finishSynAcks}).
     *
     * @param addressesBe source and destination address as one big-endian word
     * @param t0 the TCP header's first 8 bytes (ports, sequence), big-endian
     * @param t1 its next 8 bytes (acknowledgment, data offset, flags, window), big-endian
     */
    private int synV4(final MemorySegment mem, final MemorySegment descriptors, final int index, final long frame,
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
        final int checksumUrgent = mem.get(U32, tcp + TcpHeader.CHECKSUM_OFFSET);
        final long optionsSum;
        if (optionsLength == TcpOptions.LINUX_LAYOUT_LENGTH) {
            // Linux's layout, the common case: three loads give the options and their checksum sum.
            final long head = mem.get(U64, optionsAt);
            final long timestamps = mem.get(U64, optionsAt + 8);
            final int tail = mem.get(U32, optionsAt + 16);
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
        final int tcpOut = TcpHeader.MIN_LENGTH + synAckOptionsLength(bits, timestamps);
        final int outLength = l2 + Ipv4Header.MIN_LENGTH + tcpOut;
        if (!fits(descriptors, index, length, outLength)) {
            return DropReason.NO_ROOM.ordinal();
        }
        swapMacs(mem, frame);
        if (clientTxChecksum != 0) {
            return offloadedSynAckV4(mem, descriptors, index, frame, l2, ip, tcpOut, isn, bits, pseudo, timestamps,
                addressesBe, t0);
        }
        Ipv4Header.write(mem, ip, 0, Ipv4Header.MIN_LENGTH + tcpOut, Ipv4Header.DEFAULT_TTL,
            Ipv4Header.PROTOCOL_TCP, (int) addressesBe, (int) (addressesBe >>> 32));
        final long portsAndIsn = Long.reverseBytes(t0);
        final long tcpAt = ip + Ipv4Header.MIN_LENGTH;
        final long partialSum = writeSynAckHeader(mem, tcpAt, (int) portsAndIsn, isn, bits, advertisedMssV4, pseudo,
            timestamps, options.tsValue, true);
        // The cookie, and with it the sequence number, TSval and checksum, waits for the whole burst's cookies to be
        // hashed together.
        synAcksV4.addV4(tcpAt, bits, partialSum, timestamps, Long.reverseBytes(addressesBe), portsAndIsn);
        return transmitToClient(mem, descriptors, index, frame, outLength);
    }

    /**
     * {@link #synV4}'s last part when the receiving port computes checksums ({@link #setTxChecksumOffload}): the same
     * SYN-ACK, with the IPv4 header checksum left 0 for the port (no header sum made) and the TCP checksum field
     * holding the pseudo-header sum for it (no header and options sum, no cookie and TSval sum in
     * {@link #completeOffloadedSynAcks}); the descriptor asks the port for both.
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
        final long sum = writeSynAckHeader(mem, tcpAt, (int) portsAndIsn, isn, bits, advertisedMssV4, pseudo,
            timestamps, options.tsValue, (offload & FrameDescriptors.TX_TCP_CHECKSUM) == 0);
        synAcksV4.addV4(tcpAt, bits, sum, timestamps, Long.reverseBytes(addressesBe), portsAndIsn);
        return transmitToClient(mem, descriptors, index, frame, l2 + totalLength,
            FrameDescriptors.txRequest(offload, l2, Ipv4Header.MIN_LENGTH, tcpOut));
    }

    private int processV6(final MemorySegment mem, final MemorySegment descriptors, final int index,
                          final long frame, final int length, final int l2, final long ip, final int rxFlags,
                          final long nowMillis, final boolean group) {
        if (length < l2 + Ipv6Header.LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        if (Ipv6Header.version(mem, ip) != 6) {
            return DropReason.BAD_IP_HEADER.ordinal();
        }
        final int packetLength = Ipv6Header.LENGTH + Ipv6Header.payloadLength(mem, ip);
        if (l2 + packetLength > length) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long end = ip + packetLength;
        int next = Ipv6Header.nextHeader(mem, ip);
        long tcp = ip + Ipv6Header.LENGTH;
        for (int skipped = 0; Ipv6Header.isSkippableExtension(next); skipped++) {
            if (skipped == MAX_IPV6_EXTENSIONS || tcp + Ipv6Header.EXTENSION_MIN_LENGTH > end) {
                return DropReason.IPV6_EXTENSIONS.ordinal();
            }
            next = Ipv6Header.extensionNextHeader(mem, tcp);
            tcp += Ipv6Header.extensionLength(mem, tcp);
            if (tcp > end) {
                return DropReason.IPV6_EXTENSIONS.ordinal();
            }
        }
        if (next == Ipv6Header.NEXT_FRAGMENT) {
            return DropReason.FRAGMENT.ordinal();
        }
        if (next == Icmpv6Header.NEXT_HEADER_ICMPV6) {
            if (!group && end - tcp >= IcmpError.QUOTED_OFFSET
                && IcmpError.type(mem, tcp) == IcmpError.TYPE_PACKET_TOO_BIG_V6) {
                return pathMtuV6(mem, descriptors, index, frame, ip, tcp, packetLength);
            }
            return neighbourReply(descriptors, index, frame, neighbours.neighbourSolicitation(mem, frame, length, ip,
                tcp, (int) (end - tcp), FrameDescriptors.tailroom(descriptors, index), localMac));
        }
        if (group) {
            return DropReason.NOT_UNICAST.ordinal();
        }
        if (next != Ipv6Header.NEXT_TCP) {
            return DropReason.NOT_TCP.ordinal();
        }
        final int segmentLength = (int) (end - tcp);
        if (segmentLength < TcpHeader.MIN_LENGTH) {
            return DropReason.TRUNCATED.ordinal();
        }
        final long vipHigh = mem.get(U64, ip + Ipv6Header.DESTINATION_OFFSET);
        final long vipLow = mem.get(U64, ip + Ipv6Header.DESTINATION_OFFSET + 8);
        if (!vips.containsV6(vipHigh, vipLow, TcpHeader.destinationPort(mem, tcp))) {
            return DropReason.NOT_VIP.ordinal();
        }
        final int tcpLength = TcpHeader.headerLength(mem, tcp);
        if (tcpLength < TcpHeader.MIN_LENGTH || tcpLength > segmentLength) {
            return DropReason.BAD_DATA_OFFSET.ordinal();
        }
        final int flags = TcpHeader.flags(mem, tcp);
        final long clientHigh = mem.get(U64, ip + Ipv6Header.SOURCE_OFFSET);
        final long clientLow = mem.get(U64, ip + Ipv6Header.SOURCE_OFFSET + 8);
        // The cookie and flow hash read the addresses as little-endian message words.
        final long a0 = Long.reverseBytes(clientHigh);
        final long a1 = Long.reverseBytes(clientLow);
        final long a2 = Long.reverseBytes(vipHigh);
        final long a3 = Long.reverseBytes(vipLow);
        final int ports = mem.get(LE32, tcp);
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK)) == TcpHeader.SYN) {
            if (Martians.v6(clientHigh, clientLow) || vips.ownsV6(clientHigh, clientLow)) {
                return DropReason.MARTIAN_SOURCE.ordinal();
            }
            final long pseudo = Checksum.sum64(clientHigh) + Checksum.sum64(clientLow) + Checksum.sum64(vipHigh)
                + Checksum.sum64(vipLow) + Ipv6Header.NEXT_TCP;
            final int reason = checkSyn(mem, tcp, flags, segmentLength, tcpLength, rxFlags, pseudo);
            if (reason != 0) {
                return reason;
            }
            final int isn = TcpHeader.sequence(mem, tcp);
            final int bits = SynCookie.withParity(salts, synOptionBits(flags, mssTableV6, DEFAULT_MSS_V6));
            final boolean timestamps = timestampsEnabled && options.timestamps;
            final int tcpOut = TcpHeader.MIN_LENGTH + synAckOptionsLength(bits, timestamps);
            final int outLength = l2 + Ipv6Header.LENGTH + tcpOut;
            if (!fits(descriptors, index, length, outLength)) {
                return DropReason.NO_ROOM.ordinal();
            }
            swapMacs(mem, frame);
            Ipv6Header.write(mem, ip, 0, 0, tcpOut, Ipv6Header.NEXT_TCP, Ipv6Header.DEFAULT_HOP_LIMIT, vipHigh,
                vipLow, clientHigh, clientLow);
            final long tcpAt = ip + Ipv6Header.LENGTH;
            if (clientTxChecksum != 0) {
                return offloadedSynAckV6(mem, descriptors, index, frame, l2, tcpAt, tcpOut, ports, isn, bits, pseudo,
                    timestamps, a0, a1, a2, a3);
            }
            final long partialSum = writeSynAckHeader(mem, tcpAt, ports, isn, bits, advertisedMssV6, pseudo,
                timestamps, options.tsValue, true);
            // The cookie, as for IPv4, waits for the burst's other IPv6 cookies: see finishSynAcks.
            synAcksV6.addV6(tcpAt, bits, partialSum, timestamps, a0, a1, a2, a3, SynCookie.portsAndIsn(ports, isn));
            return transmitToClient(mem, descriptors, index, frame, outLength);
        }
        final long flow = flowHash.v6(a0, a1, a2, a3, ports);
        if ((flags & (TcpHeader.ACK | TcpHeader.SYN | TcpHeader.RST)) == TcpHeader.ACK) {
            final int cookie = TcpHeader.acknowledgment(mem, tcp) - 1;
            final SaltSnapshot keys = salts;
            final int bits = cookie & SynCookie.OPTION_MASK;
            if (!keys.accepts(bits)) {
                counters.increment(EngineCounters.ACKS_NOT_VALIDATED);
                return encapsulateUnmarked(mem, descriptors, index, frame, ip, true, packetLength, tcp, flow, TCP);
            }
            // Checked with the rest of the burst's IPv6 ACKs, hashed together: see finishAcks.
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
        if ((flags & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == 0) {
            return DropReason.NO_ACK.ordinal();
        }
        counters.increment(EngineCounters.OTHER_FORWARDED);
        return encapsulateUnmarked(mem, descriptors, index, frame, ip, true, packetLength, tcp, flow, TCP);
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

    private static int synAckOptionsLength(final int bits, final boolean timestamps) {
        return TcpOptions.synAckLength(SynCookie.wscale(bits) != SynCookie.WSCALE_NONE, SynCookie.sack(bits),
            timestamps);
    }

    /** True when a rewritten frame of {@code outLength} (padded to the Ethernet minimum) fits its buffer. */
    private static boolean fits(final MemorySegment descriptors, final int index, final int length,
                                final int outLength) {
        final int needed = Math.max(outLength, EthernetHeader.MIN_FRAME_LENGTH);
        // A reply no longer than what arrived (the usual SYN-ACK) needs no look at the tailroom.
        return needed <= length || needed <= length + FrameDescriptors.tailroom(descriptors, index);
    }

    private static void swapMacs(final MemorySegment mem, final long frame) {
        // Destination (6 bytes) then source (6 bytes), loaded little-endian (no byte swaps: only bytes move):
        // head = d0..d5 s0 s1, tail = s2..s5; the result is s0..s5 d0 d1 | d2..d5.
        final long head = mem.get(LE64, frame);
        final int tail = mem.get(LE32, frame + 8);
        mem.set(LE64, frame, (head >>> 48) | ((tail & 0xffffffffL) << 16) | (head << 48));
        mem.set(LE32, frame + 8, (int) (head >>> 16));
    }

    /**
     * Writes the SYN-ACK's TCP header and options, all but what depends on the cookie (sequence number, TSval,
     * checksum: {@link #completeSynAck}), and returns the checksum sum of what it wrote, summed from the values in
     * hand rather than re-read; or, when the port computes the TCP checksum ({@code summed} false), the checksum
     * field's value the port wants instead.
     *
     * @param ports the SYN's ports as read little-endian
     * @param pseudo the unfolded pseudo-header sum without the length
     */
    private long writeSynAckHeader(final MemorySegment mem, final long tcp, final int ports, final int isn,
                                   final int bits, final int mss, final long pseudo, final boolean timestamps,
                                   final int tsEcho, final boolean summed) {
        final int tcpLength = TcpHeader.MIN_LENGTH + synAckOptionsLength(bits, timestamps);
        // ports was read little-endian: swapping its halves swaps the ports; reversed, it is the big-endian word.
        final int portsBe = Integer.reverseBytes(Integer.rotateLeft(ports, 16));
        final int ack = isn + 1;
        final int outFlags = TcpHeader.SYN | TcpHeader.ACK | (SynCookie.ecn(bits) ? TcpHeader.ECE : 0);
        final int offsetFlagsWindow = ((tcpLength << 2) << 24) | (outFlags << 16) | window;
        mem.set(U32, tcp, portsBe);
        mem.set(U64, tcp + TcpHeader.ACKNOWLEDGMENT_OFFSET, ((long) ack << 32) | (offsetFlagsWindow & 0xffffffffL));
        final long optionsSum = TcpOptions.writeSynAck(mem, tcp + TcpHeader.OPTIONS_OFFSET, mss,
            SynCookie.wscale(bits) != SynCookie.WSCALE_NONE ? windowScale : -1, SynCookie.sack(bits), timestamps,
            0, tsEcho);
        if (!summed) {
            // DPDK's TCP checksum offload wants the pseudo-header's sum, TCP length included, folded and not
            // complemented, in the checksum field (rte_ipv4_phdr_cksum, rte_ipv6_phdr_cksum): the port sums the
            // segment over it. The header's sum is not made (the options' sum TcpOptions returns, a few additions of
            // values in registers, goes unused).
            return Checksum.fold(pseudo + tcpLength);
        }
        return pseudo + tcpLength + Checksum.sum32(portsBe) + Checksum.sum32(ack) + Checksum.sum32(offsetFlagsWindow)
            + optionsSum;
    }

    /** Writes the cookie as the sequence number, our TSval, and the checksum. */
    private static void completeSynAck(final MemorySegment mem, final long tcp, final int cookie,
                                       final boolean timestamps, final int tsValue, final long partialSum) {
        long sum = partialSum + Checksum.sum32(cookie);
        mem.set(U32, tcp + TcpHeader.SEQUENCE_OFFSET, cookie);
        if (timestamps) {
            // Per connection and keyed (SynCookie): it shows nothing of our clock, and its echo is checked on the ACK.
            // The backend's clock offset is set from that echo, so any value serves.
            mem.set(U32, tcp + TcpHeader.OPTIONS_OFFSET + TcpOptions.SYN_ACK_TSVAL_OFFSET, tsValue);
            sum += Checksum.sum32(tsValue);
        }
        mem.set(U32, tcp + TcpHeader.CHECKSUM_OFFSET, Checksum.finish(sum) << 16);
    }

    /**
     * {@link #finishSynAcks} on a port that computes the TCP checksum: each SYN-ACK gets its cookie and TSval; the
     * checksum field already holds the pseudo-header sum the port completes, so no sum is made here.
     */
    private static void completeOffloadedSynAcks(final MemorySegment mem, final SynLanes lanes) {
        for (int p = 0; p < lanes.count; p++) {
            final long tcp = lanes.tcp[p];
            mem.set(U32, tcp + TcpHeader.SEQUENCE_OFFSET, lanes.cookie(p));
            if (lanes.timestamps[p]) {
                mem.set(U32, tcp + TcpHeader.OPTIONS_OFFSET + TcpOptions.SYN_ACK_TSVAL_OFFSET, lanes.tsValue(p));
            }
            mem.set(U32, tcp + TcpHeader.CHECKSUM_OFFSET, (int) lanes.sum[p] << 16);
        }
        lanes.count = 0;
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
        final long sum = writeSynAckHeader(mem, tcpAt, ports, isn, bits, advertisedMssV6, pseudo, timestamps,
            options.tsValue, !tcpOffload);
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
                mem.set(U8, at, (byte) 0);
            }
            finalLength = EthernetHeader.MIN_FRAME_LENGTH;
        }
        counters.increment(EngineCounters.SYN_ACKS_SENT);
        verdicts |= 1 << Verdict.TX_CLIENT;
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
            mem.set(U8, at, (byte) 0);
        }
        counters.increment(EngineCounters.SYN_ACKS_SENT);
        verdicts |= 1 << Verdict.TX_CLIENT;
        FrameDescriptors.setResult(descriptors, index, frame, finalLength, Verdict.TX_CLIENT, txRequest);
        return DropReason.NONE.ordinal();
    }

    /** {@link #encapsulate} for everything but a validated handshake ACK: no mark, no epoch, no MSS. */
    private int encapsulateUnmarked(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                    final long frame, final long ip, final boolean innerV6, final int innerLength,
                                    final long transport, final long flow, final int kind) {
        return encapsulate(mem, descriptors, index, frame, ip, innerV6, innerLength, transport, flow, kind, 0, 0);
    }

    /**
     * Prepends the outer Ethernet, IP, UDP and {@link EncapHeader} headers in the frame's headroom, in place of its
     * Ethernet header, and points the descriptor at them. The client's IP packet is not touched. The authenticator is
     * queued for {@link #authenticatorsV4} or {@link #authenticatorsV6}, which compute the burst's together.
     *
     * @param transport where the inner transport header starts (TCP, or the ICMP error); its first 12 bytes are read
     * @param epoch     with {@code handshake}: the salt epoch that issued the cookie
     * @param mss       with {@code handshake}: the client's MSS from the cookie
     */
    private int encapsulate(final MemorySegment mem, final MemorySegment descriptors, final int index,
                            final long frame, final long ip, final boolean innerV6, final int innerLength,
                            final long transport, final long flow, final int kind, final long epoch,
                            final int mss) {
        final BackendTable table = backends;
        if (table.isEmpty()) {
            return DropReason.NO_BACKEND.ordinal();
        }
        final boolean handshake = kind == HANDSHAKE;
        final int backend = table.lookup(flow, innerV6);
        final long nextHopMac = table.nextHopMac(backend);
        if (nextHopMac < 0) {
            return DropReason.NEXT_HOP_UNRESOLVED.ordinal();
        }
        final boolean outerV6 = table.isV6(backend);
        // A slot that changed hands names its previous owner on established traffic (never on a handshake: a new
        // connection belongs to the new owner), so the new owner can hand over what it has no socket for.
        final int previous = kind == TCP ? table.previousOwner(flow, innerV6, burstMillis) : BackendTable.NONE;
        final boolean chained = previous != BackendTable.NONE && table.isV6(previous) == outerV6;
        final int headerLength = chained ? EncapHeader.CHAINED_LENGTH : EncapHeader.LENGTH;
        final int outerLength = (outerV6 ? OUTER_V6 : OUTER_V4) + headerLength - EncapHeader.LENGTH;
        final long start = ip - outerLength;
        if (start < frame - FrameDescriptors.headroom(descriptors, index)) {
            return DropReason.NO_ROOM.ordinal();
        }
        // Without a configured MAC, the one the frame was addressed to is ours.
        final long sourceMac = backendMac >= 0 ? backendMac : EthernetHeader.destination(mem, frame);
        final int trafficClass = innerV6 ? Ipv6Header.trafficClass(mem, ip) : Ipv4Header.tos(mem, ip);
        final int firstWord = EncapHeader.firstWord(innerV6 ? EncapHeader.PROTOCOL_IPV6 : EncapHeader.PROTOCOL_IPV4,
            handshake ? EncapHeader.handshakeFlags(epoch, Math.max(windowScale, 0)) : EncapHeader.unmarkedFlags());
        final int secondWord = EncapHeader.secondWord(mss);
        final long header = start + outerLength - headerLength;
        // The batched authenticator: this backend's for a plain header, the previous owner's (A2) for a chained one;
        // both over the plain header's message.
        final long authenticatorAt = header + (chained ? EncapHeader.PREVIOUS_AUTHENTICATOR_OFFSET
            : EncapHeader.AUTHENTICATOR_OFFSET);
        final long m0 = EncapHeader.firstBlock(firstWord, secondWord);
        final long transportHead = mem.get(LE64, transport);
        final long last = EncapHeader.lastBlock(mem.get(LE32, transport + 8), innerV6);
        final long k0 = table.authK0(chained ? previous : backend);
        final long k1 = table.authK1(chained ? previous : backend);
        if (innerV6) {
            authenticatorsV6.addV6(authenticatorAt, k0, k1, m0, mem.get(LE64, ip + 8), mem.get(LE64, ip + 16),
                mem.get(LE64, ip + 24), mem.get(LE64, ip + 32), transportHead, last);
        } else {
            authenticatorsV4.addV4(authenticatorAt, k0, k1, m0, mem.get(LE64, ip + Ipv4Header.SOURCE_OFFSET),
                transportHead, last);
        }

        final int udpLength = UdpHeader.LENGTH + headerLength + innerLength;
        final long outerIp = start + EthernetHeader.LENGTH;
        final long udp;
        if (outerV6) {
            EthernetHeader.write(mem, start, nextHopMac, sourceMac, EthernetHeader.ETHER_TYPE_IPV6);
            // The flow label from the flow hash's top bits (its universal ones).
            Ipv6Header.write(mem, outerIp, trafficClass, (int) (flow >>> 44), udpLength, Ipv6Header.NEXT_UDP,
                Ipv6Header.DEFAULT_HOP_LIMIT, table.sourceHigh(), table.sourceLow(), table.addressHigh(backend),
                table.addressLow(backend));
            if (backendTxChecksum != 0) {
                // The backend port reads every frame's request: an IPv6 header has no checksum to ask for.
                FrameDescriptors.setTxRequest(descriptors, index, 0);
            }
            udp = outerIp + Ipv6Header.LENGTH;
        } else {
            EthernetHeader.write(mem, start, nextHopMac, sourceMac, EthernetHeader.ETHER_TYPE_IPV4);
            Ipv4Header.write(mem, outerIp, trafficClass, Ipv4Header.MIN_LENGTH + udpLength, Ipv4Header.DEFAULT_TTL,
                Ipv4Header.PROTOCOL_UDP, table.sourceV4(), table.addressV4(backend));
            if (backendTxChecksum != 0) {
                // After the software checksum, not instead of it: with the choice made here, this method grew and the
                // ACK path measured 4% slower with offload off (harness, one run); five additions are all it costs.
                offloadOuterV4(mem, descriptors, index, outerIp);
            }
            udp = outerIp + Ipv4Header.MIN_LENGTH;
        }
        // Ephemeral-range source port from the flow hash: backend NICs spread flows over queues by it.
        UdpHeader.write(mem, udp, 0xc000 | (int) (flow >>> 50), encapPort, udpLength);
        if (chained) {
            final int chainedFirst = EncapHeader.chainedFirstWord(innerV6 ? EncapHeader.PROTOCOL_IPV6
                : EncapHeader.PROTOCOL_IPV4);
            EncapHeader.write(mem, header, chainedFirst, EncapHeader.FLAG_PREVIOUS, 0);
            ChainedHeader.writePrevious(mem, header, table, previous);
            mem.set(U64, header + EncapHeader.AUTHENTICATOR_OFFSET, chain.receiverAuthenticator(mem, header, ip,
                innerV6, transport, table.authK0(backend), table.authK1(backend)));
            counters.increment(EngineCounters.CHAINED);
        } else {
            EncapHeader.write(mem, header, firstWord, secondWord, 0);
        }

        counters.increment(EngineCounters.ENCAPSULATED);
        verdicts |= 1 << Verdict.TX_BACKEND;
        FrameDescriptors.setResult(descriptors, index, start, outerLength + innerLength, Verdict.TX_BACKEND);
        return DropReason.NONE.ordinal();
    }

    /**
     * The outer IPv4 header of an encapsulated frame on a backend port that reads TX requests: with IPv4 checksum
     * offload its checksum field cleared and the port asked to compute it, else no request.
     */
    private void offloadOuterV4(final MemorySegment mem, final MemorySegment descriptors, final int index,
                                final long outerIp) {
        if ((backendTxChecksum & FrameDescriptors.TX_IP_CHECKSUM) == 0) {
            FrameDescriptors.setTxRequest(descriptors, index, 0);
            return;
        }
        mem.set(U16, outerIp + Ipv4Header.CHECKSUM_OFFSET, (short) 0);
        FrameDescriptors.setTxRequest(descriptors, index, FrameDescriptors.txRequest(FrameDescriptors.TX_IP_CHECKSUM,
            EthernetHeader.LENGTH, Ipv4Header.MIN_LENGTH, 0));
    }
}
