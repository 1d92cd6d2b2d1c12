package io.synproxy.engine;

import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSnapshot;
import java.lang.foreign.MemorySegment;

/**
 * The per-packet brain: a burst of frames in, a verdict per frame out, frames rewritten in place.
 *
 * <ul>
 *   <li>SYN to a VIP: rewritten into the SYN-ACK whose ISN is the cookie ({@link Verdict#TX_CLIENT}).</li>
 *   <li>ACK to a VIP whose cookie validates: encapsulated to its Maglev backend with the handshake mark
 *       ({@link Verdict#TX_BACKEND}).</li>
 *   <li>Other TCP to a VIP (data, FIN, RST, ACKs that do not validate): encapsulated unmarked; the backend
 *       decides.</li>
 *   <li>Everything else: dropped with a counted {@link DropReason}, or handed to the host's kernel.</li>
 * </ul>
 *
 * <p>The work is done in stages over the burst, as VPP's graph nodes work on a vector of packets; each is a file of
 * its own and keeps its own per-burst table (see {@link BurstTable}):
 * <pre>
 *   frames --> ParseStage --+--> SynStage -------------------------------> finish: cookies in SIMD lanes
 *              (headers     +--> AckStage --> finish: cookie checks in lanes --+
 *               checked,    +--> EncapStage (other TCP) <----------------------+--> finish: authenticators in lanes
 *               tuple read) +--> NeighbourStage (ARP, ND, ICMP errors) --> EncapStage
 *                           +--> refused: to the host (HostPath) or dropped
 * </pre>
 * This class runs them in order and holds what the worker swaps in between bursts.
 *
 * <p>One instance per worker, used by one thread. No allocation, no locks, no exceptions on any input: every read is
 * preceded by a check that the bytes lie inside the frame, and every write by a check that they lie inside the
 * frame's buffer (length plus the descriptor's headroom and tailroom). Salts and backends are immutable snapshots the
 * worker swaps in between bursts ({@link #applySalts}, {@link #applyBackends}).
 */
public final class PacketEngine {
    /**
     * How late a salt may be before the SYN-ACKs issued under it are counted as issued under a stale salt: the control
     * thread publishes each epoch's salt before it starts, so a second past the boundary means it has stopped.
     */
    public static final long STALE_SALT_AFTER_MILLIS = 1000;

    private final EngineCounters counters = new EngineCounters();
    private final BurstTable burst = new BurstTable(counters);
    private final SynStage syn = new SynStage(burst);
    private final EncapStage encap = new EncapStage(burst);
    private final AckStage ack = new AckStage(burst, encap);
    private final NeighbourStage neighbour = new NeighbourStage(burst, encap);
    private final ParseStage parse = new ParseStage(burst, syn, ack, encap, neighbour);
    private EngineSettings settings;
    private SaltSnapshot salts;
    /** The configuration the engine was made with (setHostPath builds from it). */
    private final ProxyConfig config;

    public PacketEngine(final ProxyConfig config, final ProxyKeys keys, final SaltSnapshot salts,
                        final BackendTable backends) {
        this.config = config;
        applySettings(EngineSettings.of(config, keys.flowHash()));
        applySalts(salts);
        applyBackends(backends);
    }

    /** Takes a configuration's settings (between bursts: a burst sees one configuration). */
    public void applySettings(final EngineSettings s) {
        this.settings = s;
        parse.apply(s);
        syn.apply(s);
        ack.apply(s);
        encap.apply(s);
        neighbour.apply(s);
    }

    /** The settings in force. */
    public EngineSettings settings() {
        return settings;
    }

    public void applySalts(final SaltSnapshot snapshot) {
        this.salts = snapshot;
        syn.applySalts(snapshot);
        ack.applySalts(snapshot);
    }

    public void applyBackends(final BackendTable table) {
        encap.applyBackends(table);
    }

    /** The MACs this engine sends from: the receiving port's (replies) and the backend-facing port's (-1: unknown). */
    public void setMacs(final long receivingPort, final long backendPort) {
        neighbour.setLocalMac(receivingPort);
        encap.setBackendMac(backendPort);
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
        syn.setTxChecksumOffload(receivingPort & both);
        neighbour.setTxChecksumOffload(receivingPort & both);
        encap.setTxChecksumOffload(backendPort & both);
    }

    /**
     * Hands the host's kernel what is for it (see {@link HostPath}): frames to {@code hostAddresses} (those from
     * {@code controlPeers} first), ARP and neighbour discovery, and with {@code passOther} anything else that is for
     * no VIP. Without this call such frames are dropped and counted.
     */
    public void setHostPath(final java.util.List<io.synproxy.config.IpAddress> hostAddresses,
                            final java.util.List<io.synproxy.config.IpAddress> controlPeers, final boolean passOther) {
        applySettings(EngineSettings.withHost(config, settings.flowHash, hostAddresses, controlPeers, passOther));
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
     * (on the data plane, the whole address space; in tests, a buffer of exactly the frame's size). The frames go
     * through the parse stage one by one, each on to the stage that acts on it; then what waits for the whole burst
     * (the SYN-ACKs' cookies, the ACKs' checks, the authenticators) is computed together, in parts of
     * {@link BurstTable#CAPACITY} frames.
     *
     * @param nowMillis wall-clock time (read once a millisecond is enough), used to notice a salt the control thread
     *                  should have replaced ({@link EngineCounters#SYN_ACKS_STALE_SALT}) and when a previous owner of
     *                  a flow stops being named
     * @return the verdicts given, one bit each ({@code 1 << verdict}): a burst that all goes one way can be handed on
     *         whole
     */
    public int process(final MemorySegment memory, final MemorySegment descriptors, final int count,
                       final long nowMillis) {
        final BurstTable b = burst;
        b.verdicts = 0;
        b.nowMillis = nowMillis;
        for (int start = 0; start < count; start += BurstTable.CAPACITY) {
            final int end = Math.min(count, start + BurstTable.CAPACITY);
            parse.run(memory, descriptors, start, end);
            syn.finish(memory, nowMillis >= salts.epochEndMillis() + STALE_SALT_AFTER_MILLIS);
            ack.finish(memory, descriptors);
            encap.finish(memory);
            counters.add(EngineCounters.FRAMES_RECEIVED, end - start);
        }
        return b.verdicts;
    }
}
