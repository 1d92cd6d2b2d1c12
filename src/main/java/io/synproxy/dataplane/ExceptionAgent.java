package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import io.synproxy.engine.FrameDescriptors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * The exception path of one port: frames the workers found to be the host's go into its kernel interface (a
 * net_tap port), and what the kernel sends on that interface goes out of the port.
 *
 * <p>Workers never touch the TAP device (a system call per poll): each hands frames over two rings of its own, one
 * for control traffic (ARP, neighbour discovery, the BGP/BFD peers) and one for the rest; this agent, on a thread of
 * its own off the worker cores, drains the control rings first and whole, then the others through a token bucket of
 * {@code ratePps} and {@code burst}: a flood to the host's address is cut here, counted, and never starves the BGP
 * session. What the kernel transmits is handed to one worker of the port, which sends it with its own frames (a TX
 * queue belongs to one thread).
 */
final class ExceptionAgent implements Agent {
    private static final int BURST = PortWorker.BURST;

    /** A worker's rings toward the kernel. */
    record WorkerRings(FrameRing control, FrameRing other) {
    }

    private final String name;
    private final int tapPort;
    private final List<WorkerRings> workers;
    private final FrameRing toPort;
    private volatile long ratePps;
    private volatile long burst;
    private final MemorySegment batch;
    private final MemorySegment refused;
    private double tokens;
    private long lastRefillNanos = System.nanoTime();
    private long lastPublishNanos;
    private long toKernel;
    private long control;
    private long rateLimited;
    private long tapRefused;
    private long fromKernel;
    private long fromKernelDropped;
    private AtomicCounter[] published;

    ExceptionAgent(final String name, final int tapPort, final List<WorkerRings> workers, final FrameRing toPort,
                   final long ratePps, final long burst, final Arena arena) {
        this.name = name;
        this.tapPort = tapPort;
        this.workers = workers;
        this.toPort = toPort;
        this.ratePps = ratePps;
        this.burst = burst;
        this.tokens = burst;
        this.batch = arena.allocate((long) FrameDescriptors.SIZE * BURST, 64);
        this.refused = arena.allocate((long) FrameDescriptors.SIZE * BURST, 64);
    }

    /** A new budget for frames that are not control traffic (a reload). */
    void limit(final long framesPerSecond, final long depth) {
        ratePps = framesPerSecond;
        burst = depth;
    }

    static final String[] COUNTERS = {"to-kernel", "to-kernel-control", "to-kernel-rate-limited",
        "to-kernel-refused", "from-kernel", "from-kernel-dropped"};

    ExceptionAgent counters(final StatsFile file) {
        published = new AtomicCounter[COUNTERS.length];
        for (int i = 0; i < COUNTERS.length; i++) {
            published[i] = file.newCounter(name + " " + COUNTERS[i]);
        }
        return this;
    }

    @Override
    public int doWork() {
        final long now = System.nanoTime();
        tokens = Math.min(burst, tokens + (now - lastRefillNanos) * 1e-9 * ratePps);
        lastRefillNanos = now;
        int work = 0;
        for (final WorkerRings rings : workers) {
            // Control first and whole: it is small by nature, and it is what keeps the node in the fleet.
            for (int n; (n = rings.control().poll(batch, 0, BURST)) > 0; ) {
                control += n;
                work += toKernel(batch, n);
            }
        }
        for (final WorkerRings rings : workers) {
            for (int n; (n = rings.other().poll(batch, 0, BURST)) > 0; ) {
                final int allowed = (int) Math.min(n, (long) tokens);
                tokens -= allowed;
                if (allowed < n) {
                    MemorySegment.copy(batch, (long) allowed * FrameDescriptors.SIZE, refused, 0,
                        (long) (n - allowed) * FrameDescriptors.SIZE);
                    Shim.free(refused, n - allowed);
                    rateLimited += n - allowed;
                }
                work += toKernel(batch, allowed) + n - allowed;
            }
        }
        final int received = Shim.rxBurst(tapPort, 0, batch, BURST);
        for (int i = 0; i < received; i++) {
            // A worker sends these on the port as they are: the word that carries a frame's TX checksum request holds
            // the tap's RSS hash here, which must not be read as one.
            FrameDescriptors.clearTxRequest(batch, i);
            if (toPort.offer(batch, i)) {
                fromKernel++;
            } else {
                MemorySegment.copy(batch, (long) i * FrameDescriptors.SIZE, refused, 0, FrameDescriptors.SIZE);
                Shim.free(refused, 1);
                fromKernelDropped++;
            }
        }
        if (now - lastPublishNanos > 100_000_000L) {
            publish();
            lastPublishNanos = now;
        }
        return work + received;
    }

    private int toKernel(final MemorySegment frames, final int count) {
        if (count == 0) {
            return 0;
        }
        final int sent = Shim.txBurst(tapPort, 0, frames, count);
        if (sent < count) {
            MemorySegment.copy(frames, (long) sent * FrameDescriptors.SIZE, refused, 0,
                (long) (count - sent) * FrameDescriptors.SIZE);
            Shim.free(refused, count - sent);
            tapRefused += count - sent;
        }
        toKernel += sent;
        return count;
    }

    private void publish() {
        if (published == null) {
            return;
        }
        final long[] values = {toKernel, control, rateLimited, tapRefused, fromKernel, fromKernelDropped};
        for (int i = 0; i < values.length; i++) {
            published[i].setRelease(values[i]);
        }
    }

    @Override
    public void onClose() {
        publish();
    }

    long rateLimited() {
        return rateLimited;
    }

    @Override
    public String roleName() {
        return name;
    }
}
