package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import io.synproxy.engine.FrameDescriptors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Frames waiting for one TX queue (as DPDK's rte_eth_tx_buffer does for l2fwd): sent when a full burst is waiting,
 * when the oldest has waited {@link #DRAIN_NANOS}, or when the worker goes idle. Frames the port refuses are freed and
 * counted: a full TX ring means the link is saturated, and holding them would only delay newer ones.
 */
final class TxBuffer {
    /** l2fwd's BURST_TX_DRAIN_US: the longest a frame waits for company. */
    static final long DRAIN_NANOS = 100_000;

    private final int port;
    private final int queue;
    private final MemorySegment frames;
    private final MemorySegment refused;
    private int count;
    private long oldestNanos;
    private long dropped;

    TxBuffer(final int port, final int queue, final Arena arena) {
        this.port = port;
        this.queue = queue;
        // Two bursts of room: a burst is always sent before the buffer holds more than one.
        this.frames = arena.allocate((long) FrameDescriptors.SIZE * PortWorker.BURST * 2, 64);
        this.refused = arena.allocate((long) FrameDescriptors.SIZE * PortWorker.BURST * 2, 64);
    }

    void add(final MemorySegment descriptors, final int index, final long nowNanos) {
        if (count == 0) {
            oldestNanos = nowNanos;
        }
        MemorySegment.copy(descriptors, (long) index * FrameDescriptors.SIZE, frames,
            (long) count++ * FrameDescriptors.SIZE, FrameDescriptors.SIZE);
    }

    /** Moves frames waiting in {@code ring} in, as many as fit before a burst is full, and sends a full burst. */
    void addFrom(final FrameRing ring, final long nowNanos) {
        final int room = PortWorker.BURST - count;
        if (room <= 0) {
            return;
        }
        if (count == 0) {
            oldestNanos = nowNanos;
        }
        count += ring.poll(frames, count, room);
        flush(nowNanos, false);
    }

    boolean isEmpty() {
        return count == 0;
    }

    /**
     * Sends a whole received burst straight from the RX descriptors, when nothing waits here (so order is kept): the
     * flood case, where every frame of a burst goes the same way, skips the copy into this buffer.
     */
    int sendAll(final MemorySegment descriptors, final int frameCount) {
        return send(descriptors, frameCount);
    }

    /** Sends if a burst is ready, the oldest frame is due, or {@code force}; returns the number sent. */
    int flush(final long nowNanos, final boolean force) {
        if (count == 0 || (count < PortWorker.BURST && !force && nowNanos - oldestNanos < DRAIN_NANOS)) {
            return 0;
        }
        final int sent = send(frames, count);
        count = 0;
        return sent;
    }

    /** Hands frames to the TX queue; what it refuses is freed and counted. */
    private int send(final MemorySegment descriptors, final int frameCount) {
        final int sent = Shim.txBurst(port, queue, descriptors, frameCount);
        if (sent < frameCount) {
            final int unsent = frameCount - sent;
            MemorySegment.copy(descriptors, (long) sent * FrameDescriptors.SIZE, refused, 0,
                (long) unsent * FrameDescriptors.SIZE);
            Shim.free(refused, unsent);
            dropped += unsent;
        }
        return sent;
    }

    long dropped() {
        return dropped;
    }
}
