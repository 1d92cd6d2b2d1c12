package io.synproxy.engine;

import java.lang.foreign.MemorySegment;

/**
 * What the stages share about the burst in hand, as VPP's graph nodes share a frame vector: the verdicts given so far,
 * the clock, the counters. Each stage keeps the per-frame part of its own table, the lanes it fills as frames reach
 * it and finishes for the whole burst together: the SYN stage's {@link SynLanes} (where each SYN-ACK's TCP header
 * is, its tuple and the sums made so far), the ACK stage's {@link AckLanes} (descriptor, offsets, tuple, cookie,
 * timestamps; one table per family and salt) and the encapsulation stage's {@link AuthLanes}.
 *
 * <p>Why not one table of every frame's fields, filled by the parse stage and read by the others: that was built and
 * measured twice. A slot per frame with a vector per stage (branch {@code engine-stages}) cost the SYN path 17-25%;
 * the frame in hand as fields here (branch {@code engine-frame-table}) cost it 10-14% (JMH, C2 only). A frame's
 * headers are read once, in the parse stage, and handed on as arguments to the stage that acts on it; only what must
 * wait for the burst is written down, in that stage's lanes.
 */
final class BurstTable {
    /** Frames one pass of the stages takes: the lanes hold one each; a longer burst is processed in parts. */
    static final int CAPACITY = 64;

    final EngineCounters counters;
    /** The verdicts given in the current burst, one bit each ({@code 1 << verdict}). */
    int verdicts;
    /** The wall clock of the current burst (ms): when a previous owner stops being named. */
    long nowMillis;

    BurstTable(final EngineCounters counters) {
        this.counters = counters;
    }

    /** Drops frame {@code index} for {@code reason}, counted. */
    void drop(final MemorySegment descriptors, final int index, final int reason) {
        verdicts |= 1 << Verdict.DROP;
        counters.drop(reason);
        FrameDescriptors.setDrop(descriptors, index, reason);
    }
}
