package io.synproxy.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** Frames laid out as DPDK mbufs (headroom, frame, tailroom), run through an engine, results per frame. */
public final class TestBurst implements AutoCloseable {
    public static final int HEADROOM = 128;
    public static final int ROOM = 2048;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment memory;
    private final MemorySegment descriptors;
    private final int count;

    public TestBurst(final List<byte[]> frames) {
        count = frames.size();
        memory = arena.allocate((long) (HEADROOM + ROOM) * count, 64);
        descriptors = arena.allocate((long) FrameDescriptors.SIZE * count, 64);
        for (int i = 0; i < count; i++) {
            final byte[] frame = frames.get(i);
            final long at = (long) i * (HEADROOM + ROOM) + HEADROOM;
            MemorySegment.copy(frame, 0, memory, ValueLayout.JAVA_BYTE, at, frame.length);
            FrameDescriptors.setFrame(descriptors, i, at, frame.length, HEADROOM, ROOM - frame.length, 0);
        }
    }

    public TestBurst run(final PacketEngine engine, final long nowMillis) {
        engine.process(memory, descriptors, count, nowMillis);
        return this;
    }

    public int verdict(final int i) {
        return FrameDescriptors.verdict(descriptors, i);
    }

    public DropReason reason(final int i) {
        return DropReason.of(FrameDescriptors.reason(descriptors, i));
    }

    /** The reason byte as written: a drop reason, or the class of a frame for the host ({@link HostPath}). */
    public int reasonByte(final int i) {
        return FrameDescriptors.reason(descriptors, i);
    }

    /** The burst's descriptors (what the shim would read: verdicts, TX requests). */
    public MemorySegment descriptors() {
        return descriptors;
    }

    /** The frame as the engine left it (what would be transmitted). */
    public byte[] output(final int i) {
        return memory.asSlice(FrameDescriptors.address(descriptors, i), FrameDescriptors.length(descriptors, i))
            .toArray(ValueLayout.JAVA_BYTE);
    }

    @Override
    public void close() {
        arena.close();
    }
}
