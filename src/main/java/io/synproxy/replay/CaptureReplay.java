package io.synproxy.replay;

import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.engine.FrameDescriptors;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.Verdict;
import io.synproxy.pcap.PcapReader;
import io.synproxy.pcap.PcapWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * "What would the proxy do with this capture?": every frame of a pcap through the packet engine, in bursts, with
 * buffers laid out as DPDK's mbufs are (headroom before the frame, room after it), and what the proxy would transmit
 * written to another pcap.
 *
 * <p>The salt epoch follows the clock given: by default each frame's own capture time, so a capture replays the same
 * way whenever it is replayed (ACKs validate against SYN-ACKs issued at their capture time).
 */
public final class CaptureReplay {
    public static final int BURST = 32;
    /** DPDK's default RTE_PKTMBUF_HEADROOM and data room: the same room the data plane will have. */
    public static final int HEADROOM = 128;
    public static final int DATA_ROOM = 2048;

    /** Where the salt epoch's time comes from. */
    public enum Clock { CAPTURE, NOW }

    /** Per-verdict frame counts of one replay. */
    public record Result(long frames, long toClient, long toBackend, long dropped) {
    }

    private final PacketEngine engine;
    private final SaltSchedule schedule;
    private final Clock clock;
    private final LongSupplier wallClock;

    public CaptureReplay(final PacketEngine engine, final SaltSchedule schedule, final Clock clock,
                         final LongSupplier wallClockMillis) {
        this.engine = engine;
        this.schedule = schedule;
        this.clock = clock;
        this.wallClock = wallClockMillis;
    }

    public Result run(final Path in, final Path out) throws IOException {
        long frames = 0;
        long toClient = 0;
        long toBackend = 0;
        long dropped = 0;
        try (Arena arena = Arena.ofConfined();
             PcapReader reader = new PcapReader(in);
             PcapWriter writer = new PcapWriter(out)) {
            final int slot = HEADROOM + DATA_ROOM;
            final MemorySegment buffers = arena.allocate((long) slot * BURST, 64);
            final MemorySegment descriptors = arena.allocate((long) FrameDescriptors.SIZE * BURST, 64);
            final long[] timestamps = new long[BURST];
            final long[] times = new long[BURST];
            int count = 0;
            long burstState = Long.MIN_VALUE;
            PcapReader.Frame frame = reader.next();
            while (frame != null || count > 0) {
                final long time = frame == null ? 0 : clock == Clock.CAPTURE ? frame.timestampMillis()
                    : wallClock.getAsLong();
                final long state = frame == null ? Long.MIN_VALUE : saltState(time);
                if (count == BURST || frame == null || (count > 0 && state != burstState)) {
                    engine.applySalts(snapshotFor(times[0]));
                    engine.process(buffers, descriptors, count, times[0]);
                    for (int i = 0; i < count; i++) {
                        final int verdict = FrameDescriptors.verdict(descriptors, i);
                        if (verdict == Verdict.DROP) {
                            dropped++;
                            continue;
                        }
                        if (verdict == Verdict.TX_CLIENT) {
                            toClient++;
                        } else {
                            toBackend++;
                        }
                        writer.write(timestamps[i], buffers, FrameDescriptors.address(descriptors, i),
                            FrameDescriptors.length(descriptors, i));
                    }
                    count = 0;
                    if (frame == null) {
                        break;
                    }
                }
                burstState = state;
                final byte[] data = frame.data();
                final int length = Math.min(data.length, DATA_ROOM);
                final long at = (long) count * slot + HEADROOM;
                MemorySegment.copy(data, 0, buffers, java.lang.foreign.ValueLayout.JAVA_BYTE, at, length);
                FrameDescriptors.setFrame(descriptors, count, at, length, HEADROOM, DATA_ROOM - length, 0);
                timestamps[count] = frame.timestampNanos();
                times[count] = time;
                count++;
                frames++;
                frame = reader.next();
            }
        }
        return new Result(frames, toClient, toBackend, dropped);
    }

    /** Frames whose salt state differs must not share a burst: a burst is processed under one snapshot. */
    private long saltState(final long millis) {
        return schedule.stateAt(millis);
    }

    private SaltSnapshot cached;
    private long cachedState = Long.MIN_VALUE;

    private SaltSnapshot snapshotFor(final long millis) {
        final long state = saltState(millis);
        if (cached == null || state != cachedState) {
            cached = schedule.snapshotAt(millis);
            cachedState = state;
        }
        return cached;
    }
}
