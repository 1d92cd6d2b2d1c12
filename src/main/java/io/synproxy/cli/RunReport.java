package io.synproxy.cli;

import io.synproxy.dataplane.DataPlane;
import io.synproxy.dataplane.PortWorker;
import io.synproxy.engine.EngineCounters;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import org.HdrHistogram.Histogram;

/**
 * What `run --warmup` reports for the measured window: packets per second, burst service times, garbage
 * collections and the bytes the worker threads allocated (the fast path must allocate none). One `report:` line
 * per fact, for people and for perf/linerate.sh alike.
 */
final class RunReport {
    private final DataPlane plane;
    private long startNanos = -1;
    private long endNanos;
    private long framesStart;
    private long framesEnd;
    private long gcStart;
    private long gcEnd;
    private long allocatedStart;
    private long allocatedEnd;

    RunReport(final DataPlane plane) {
        this.plane = plane;
    }

    void startWindow() {
        plane.workers().forEach(PortWorker::resetBurstTimes);
        startNanos = System.nanoTime();
        framesStart = plane.total(EngineCounters.FRAMES_RECEIVED);
        gcStart = collections();
        allocatedStart = workerAllocatedBytes();
    }

    void endWindow() {
        endNanos = System.nanoTime();
        framesEnd = plane.total(EngineCounters.FRAMES_RECEIVED);
        gcEnd = collections();
        allocatedEnd = workerAllocatedBytes();
    }

    /** Prints the window's figures; call after the workers stopped (their histograms are then stable). */
    void print() {
        if (startNanos < 0) {
            return;
        }
        final double seconds = (endNanos - startNanos) / 1e9;
        final Histogram bursts = new Histogram(1, 60_000_000_000L, 3);
        for (final PortWorker worker : plane.workers()) {
            bursts.add(worker.burstTimes());
        }
        System.out.printf("report: window_seconds=%.2f frames=%d mpps=%.3f%n", seconds, framesEnd - framesStart,
            (framesEnd - framesStart) / seconds / 1e6);
        System.out.printf("report: burst_ns p50=%d p99=%d p99.9=%d max=%d bursts=%d%n",
            bursts.getValueAtPercentile(50), bursts.getValueAtPercentile(99), bursts.getValueAtPercentile(99.9),
            bursts.getMaxValue(), bursts.getTotalCount());
        System.out.printf("report: gc_collections=%d worker_allocated_bytes=%d%n", gcEnd - gcStart,
            allocatedEnd - allocatedStart);
    }

    private static long collections() {
        long count = 0;
        for (final GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, gc.getCollectionCount());
        }
        return count;
    }

    private long workerAllocatedBytes() {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long bytes = 0;
        for (final PortWorker worker : plane.workers()) {
            if (worker.threadId() >= 0) {
                bytes += Math.max(0, threads.getThreadAllocatedBytes(worker.threadId()));
            }
        }
        return bytes;
    }
}
