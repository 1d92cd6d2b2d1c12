package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.engine.EngineCounters;
import io.synproxy.engine.FrameDescriptors;
import io.synproxy.engine.HostPath;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.Verdict;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.LongSupplier;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * One poll-mode worker: one RX queue of one port, bursts of {@value #BURST}, through the packet engine, SYN-ACKs back
 * out of the receiving port and encapsulated packets out of the backend-facing port (which may be the same).
 *
 * <p>The loop crosses into C a few times per burst (RX, TX, free), never per packet; the descriptor arrays are
 * allocated once, off-heap. TX is buffered per queue and flushed on a full burst, on a 100 µs deadline, or when the
 * queue goes idle ({@link TxBuffer}); frames a port could not take are freed and counted ({@link #txDropped}).
 */
public final class PortWorker implements Agent {
    public static final int BURST = 32;
    /** The whole address space: descriptors carry absolute addresses of DPDK's buffers. */
    public static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final String name;
    private final int port;
    private final int queue;
    private final int txQueue;
    private final int backendPort;
    private final int backendQueue;
    private final PacketEngine engine;
    private final LongSupplier clockMillis;
    private static final long MILLIS_REFRESH_NANOS = 1_000_000L;
    private long millis;
    /** When {@link #millis} was read (System.nanoTime); set so the first burst reads it. */
    private long millisReadAt = System.nanoTime() - MILLIS_REFRESH_NANOS;
    private final MemorySegment rx;
    private final TxBuffer toClient;
    private final TxBuffer toBackend;
    private final MemorySegment dropped;
    private OneToOneConcurrentArrayQueue<SaltSnapshot> salts;
    private OneToOneConcurrentArrayQueue<io.synproxy.engine.BackendTable> backendTables;
    private OneToOneConcurrentArrayQueue<io.synproxy.engine.EngineSettings> settings;
    private AtomicCounter[] published;
    private AtomicCounter txDroppedCounter;
    private int core = -1;
    private long bursts;
    private long lastPublishNanos;
    /** Time from a burst's arrival to its last frame handed to TX, per burst: allocation-free recording. */
    private final org.HdrHistogram.Histogram burstNanos = new org.HdrHistogram.Histogram(1, 60_000_000_000L, 3);
    private volatile boolean resetRequested;
    private volatile long threadId = -1;
    /** When the worker last went round its loop (System.nanoTime, published with the counters): health. */
    private volatile long heartbeatNanos = System.nanoTime();
    /** The exception path: rings to the kernel (control, other) and from it (frames this worker transmits). */
    private FrameRing toHostControl;
    private FrameRing toHostOther;
    private FrameRing fromHost;
    private TxBuffer fromHostTx;
    private long hostQueueFull;
    private AtomicCounter hostQueueFullCounter;
    /**
     * The core's load, from one clock read per poll (the one the loop makes anyway): the time from one poll to the
     * next is busy if the first found frames, idle if not. No cost per packet.
     */
    private long lastPollNanos = System.nanoTime();
    private boolean lastPollBusy;
    private long busyNanos;
    private long idleNanos;
    private long loadSampleNanos;
    private long loadSampleBusy;
    private long loadSampleIdle;
    private AtomicCounter busyCounter;
    private AtomicCounter idleCounter;
    private AtomicCounter loadCounter;
    /** Burst service times by power of two ({@link #burstBucket}): the metrics' histogram, one increment a burst. */
    private final long[] burstBuckets = new long[BURST_BUCKETS];
    private long burstSumNanos;
    private AtomicCounter[] burstBucketCounters;
    private AtomicCounter burstSumCounter;
    /** Histogram buckets: bucket 0 holds bursts under 2^10 ns, bucket k under 2^(10+k) ns, the last all the rest. */
    public static final int BURST_BUCKETS = 16;
    public static final int BURST_BUCKET_SHIFT = 10;
    /** Counters a worker publishes besides the engine's: TX refused, host queue full, load (3), burst times. */
    public static final int EXTRA_COUNTERS = 5 + BURST_BUCKETS + 1;

    /**
     * @param queue        the RX queue this worker polls
     * @param txQueue      its own TX queue on {@code port}, for SYN-ACKs
     * @param backendQueue its own TX queue on {@code backendPort}, for encapsulated packets
     */
    public PortWorker(final String name, final int port, final int queue, final int txQueue, final int backendPort,
                      final int backendQueue, final PacketEngine engine, final LongSupplier clockMillis,
                      final Arena arena) {
        this.name = name;
        this.port = port;
        this.queue = queue;
        this.txQueue = txQueue;
        this.backendPort = backendPort;
        this.backendQueue = backendQueue;
        this.engine = engine;
        this.clockMillis = clockMillis;
        this.rx = arena.allocate((long) FrameDescriptors.SIZE * BURST, 64);
        this.toClient = new TxBuffer(port, txQueue, arena);
        this.toBackend = new TxBuffer(backendPort, backendQueue, arena);
        this.dropped = arena.allocate((long) FrameDescriptors.SIZE * BURST, 64);
    }

    /** Salt snapshots from the control agent, applied between bursts. */
    public PortWorker salts(final OneToOneConcurrentArrayQueue<SaltSnapshot> queue) {
        this.salts = queue;
        return this;
    }

    /** Backend tables from the control agent, applied between bursts. */
    public PortWorker backends(final OneToOneConcurrentArrayQueue<io.synproxy.engine.BackendTable> queue) {
        this.backendTables = queue;
        return this;
    }

    /** Engine settings from the control agent (a reload), applied between bursts. */
    public PortWorker settings(final OneToOneConcurrentArrayQueue<io.synproxy.engine.EngineSettings> queue) {
        this.settings = queue;
        return this;
    }

    /** Frames for the host's kernel leave through these rings ({@link ExceptionAgent} takes them). */
    PortWorker toHost(final FrameRing control, final FrameRing other) {
        this.toHostControl = control;
        this.toHostOther = other;
        return this;
    }

    /**
     * Frames the kernel sends on {@code port}'s host interface arrive in this ring; this worker transmits them on its
     * receiving port's TX queue, or its backend port's when {@code viaBackendPort}.
     */
    PortWorker fromHost(final FrameRing ring, final boolean viaBackendPort) {
        this.fromHost = ring;
        this.fromHostTx = viaBackendPort ? toBackend : toClient;
        return this;
    }

    /** Publishes the engine's counters (and TX drops) into the stats file, as "NAME COUNTER" labels. */
    public PortWorker counters(final StatsFile file) {
        published = new AtomicCounter[EngineCounters.COUNT];
        for (int i = 0; i < published.length; i++) {
            published[i] = file.newCounter(name + " " + EngineCounters.name(i));
        }
        txDroppedCounter = file.newCounter(name + " tx-dropped");
        hostQueueFullCounter = file.newCounter(name + " to-host-queue-full");
        busyCounter = file.newCounter(name + " busy-ns");
        idleCounter = file.newCounter(name + " idle-ns");
        loadCounter = file.newCounter(name + " load-permille");
        burstBucketCounters = new AtomicCounter[BURST_BUCKETS];
        for (int i = 0; i < BURST_BUCKETS; i++) {
            burstBucketCounters[i] = file.newCounter(name + " " + burstBucketLabel(i));
        }
        burstSumCounter = file.newCounter(name + " burst-ns-sum");
        return this;
    }

    /** Pins the worker's thread to {@code cpu} (and registers it with EAL) when the agent starts. */
    public PortWorker pinTo(final int cpu) {
        this.core = cpu;
        return this;
    }

    @Override
    public void onStart() {
        threadId = Thread.currentThread().threadId();
        if (core >= 0) {
            // Registered threads use the mempool's per-lcore cache; pinning keeps the queue's data on one core.
            if (Shim.threadRegister() < 0) {
                throw new DpdkException(name + ": cannot register with EAL: " + Shim.strerror(Shim.errno()));
            }
            final int rc = Shim.threadPin(core);
            if (rc < 0) {
                throw new DpdkException(name + ": cannot pin to core " + core + ": " + Shim.strerror(rc));
            }
        }
    }

    @Override
    public int doWork() {
        if (resetRequested) {
            burstNanos.reset();
            resetRequested = false;
        }
        final SaltSnapshot snapshot = salts == null ? null : salts.poll();
        if (snapshot != null) {
            engine.applySalts(snapshot);
        }
        final io.synproxy.engine.EngineSettings configured = settings == null ? null : settings.poll();
        if (configured != null) {
            engine.applySettings(configured);
        }
        final io.synproxy.engine.BackendTable table = backendTables == null ? null : backendTables.poll();
        if (table != null) {
            engine.applyBackends(table);
        }
        final int received = Shim.rxBurst(port, queue, rx, BURST);
        final long now = System.nanoTime();
        if (lastPollBusy) {
            busyNanos += now - lastPollNanos;
        } else {
            idleNanos += now - lastPollNanos;
        }
        lastPollNanos = now;
        lastPollBusy = received > 0;
        if (fromHost != null && !fromHost.isEmpty()) {
            // The kernel's frames (BGP, ARP, ...): queued behind this worker's own, never ahead of a full buffer.
            fromHostTx.addFrom(fromHost, now);
        }
        if (received == 0) {
            // Nothing more is coming right now: send what waits instead of letting it age.
            toClient.flush(now, true);
            toBackend.flush(now, true);
            publishIfDue(now, false);
            return 0;
        }
        if (now - millisReadAt >= MILLIS_REFRESH_NANOS) {
            // The wall clock is only for our TSval, which counts milliseconds: reading it once a millisecond will do.
            millis = clockMillis.getAsLong();
            millisReadAt = now;
        }
        final int verdicts = engine.process(ALL_MEMORY, rx, received, millis);
        if (verdicts == 1 << Verdict.TX_CLIENT && toClient.isEmpty()) {
            toClient.sendAll(rx, received);
        } else if (verdicts == 1 << Verdict.TX_BACKEND && toBackend.isEmpty()) {
            toBackend.sendAll(rx, received);
        } else if (verdicts == 1 << Verdict.DROP) {
            Shim.free(rx, received);
        } else {
            sortByVerdict(received, now);
        }
        toClient.flush(now, false);
        toBackend.flush(now, false);
        final long took = Math.max(1, System.nanoTime() - now);
        burstNanos.recordValue(took);
        burstBuckets[burstBucket(took)]++;
        burstSumNanos += took;
        publishIfDue(now, (++bursts & 1023) == 0);
        return received;
    }

    /** Mixed bursts: each frame to its TX buffer, drops freed in one call. */
    private void sortByVerdict(final int received, final long now) {
        int drops = 0;
        for (int i = 0; i < received; i++) {
            switch (FrameDescriptors.verdict(rx, i)) {
                case Verdict.TX_CLIENT -> toClient.add(rx, i, now);
                case Verdict.TX_BACKEND -> toBackend.add(rx, i, now);
                case Verdict.TO_HOST -> {
                    final FrameRing ring = FrameDescriptors.reason(rx, i) == HostPath.CONTROL ? toHostControl
                        : toHostOther;
                    if (ring == null || !ring.offer(rx, i)) {
                        // The exception agent is behind: this frame is lost, counted, and the worker goes on.
                        hostQueueFull++;
                        MemorySegment.copy(rx, (long) i * FrameDescriptors.SIZE, dropped,
                            (long) drops++ * FrameDescriptors.SIZE, FrameDescriptors.SIZE);
                    }
                }
                default -> MemorySegment.copy(rx, (long) i * FrameDescriptors.SIZE, dropped,
                    (long) drops++ * FrameDescriptors.SIZE, FrameDescriptors.SIZE);
            }
        }
        if (drops > 0) {
            Shim.free(dropped, drops);
        }
    }

    /** Copies the counters out every 1024 bursts, or every 100 ms when idle: readers see them live. */
    private void publishIfDue(final long now, final boolean due) {
        if (published == null) {
            return;
        }
        if (!due && now - lastPublishNanos < 100_000_000L) {
            return;
        }
        publish();
        lastPublishNanos = now;
        heartbeatNanos = now;
    }

    private void publish() {
        final EngineCounters counters = engine.counters();
        for (int i = 0; i < published.length; i++) {
            published[i].setRelease(counters.get(i));
        }
        txDroppedCounter.setRelease(txDropped());
        hostQueueFullCounter.setRelease(hostQueueFull);
        busyCounter.setRelease(busyNanos);
        idleCounter.setRelease(idleNanos);
        for (int i = 0; i < BURST_BUCKETS; i++) {
            burstBucketCounters[i].setRelease(burstBuckets[i]);
        }
        burstSumCounter.setRelease(burstSumNanos);
        final long now = lastPollNanos;
        if (now - loadSampleNanos >= 100_000_000L) {
            // The load over the last ~100 ms or more: what `stat` and the metrics show as the core's headroom.
            final long busy = busyNanos - loadSampleBusy;
            final long all = busy + idleNanos - loadSampleIdle;
            loadCounter.setRelease(all == 0 ? 0 : busy * 1000 / all);
            loadSampleNanos = now;
            loadSampleBusy = busyNanos;
            loadSampleIdle = idleNanos;
        }
    }

    /** The histogram bucket of a burst that took {@code nanos}. */
    static int burstBucket(final long nanos) {
        return Math.min(BURST_BUCKETS - 1, Math.max(0, 64 - Long.numberOfLeadingZeros(nanos) - BURST_BUCKET_SHIFT));
    }

    /** The counter label of bucket {@code i}: {@code burst-le-NNNNns}, or {@code burst-le-inf} for the last. */
    public static String burstBucketLabel(final int i) {
        return i == BURST_BUCKETS - 1 ? "burst-le-inf" : "burst-le-" + (1L << (BURST_BUCKET_SHIFT + i)) + "ns";
    }

    @Override
    public void onClose() {
        final long now = System.nanoTime();
        toClient.flush(now, true);
        toBackend.flush(now, true);
        if (published != null) {
            publish();
        }
    }

    /** Asks the worker to clear its burst-time histogram (after a warm-up); it does so between bursts. */
    public void resetBurstTimes() {
        resetRequested = true;
    }

    /** The burst service times recorded so far; read it only once the worker has stopped. */
    public org.HdrHistogram.Histogram burstTimes() {
        return burstNanos;
    }

    /** When the worker last published (System.nanoTime): at least every 100 ms while it polls. */
    public long heartbeatNanos() {
        return heartbeatNanos;
    }

    /** The worker thread's id once it runs (for allocation accounting), else -1. */
    public long threadId() {
        return threadId;
    }

    /** Frames the engine wanted sent that a port's TX ring refused (freed). */
    public long txDropped() {
        return toClient.dropped() + toBackend.dropped();
    }

    @Override
    public String roleName() {
        return name;
    }
}
