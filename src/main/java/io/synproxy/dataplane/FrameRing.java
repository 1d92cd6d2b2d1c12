package io.synproxy.dataplane;

import io.synproxy.engine.FrameDescriptors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A single-producer single-consumer ring of frame descriptors ({@link FrameDescriptors}, 32 bytes each), off-heap:
 * how a worker hands frames to the exception agent and back without a lock, an allocation or a copy of the frame.
 * The frame's buffer goes with its descriptor: whoever takes it out transmits or frees it.
 *
 * <pre>
 *   0        64       128                                   128 + 32 x capacity
 *   +--------+--------+--------+--------+-----   ---+--------+
 *   | tail   | head   | slot 0 | slot 1 |   ...     | slot n |
 *   +--------+--------+--------+--------+-----   ---+--------+
 *   producer  consumer  (tail and head on cache lines of their own: the two threads never share one)
 * </pre>
 */
final class FrameRing {
    private static final long TAIL_OFFSET = 0;
    private static final long HEAD_OFFSET = 64;
    private static final long SLOTS_OFFSET = 128;
    private static final VarHandle POSITION = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment memory;
    private final int capacity;
    private final int mask;
    /** The producer's last view of head, and the consumer's of tail: the shared lines are read only when needed. */
    private long headSeen;
    private long tailSeen;

    FrameRing(final int capacity, final Arena arena) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.memory = arena.allocate(SLOTS_OFFSET + (long) FrameDescriptors.SIZE * capacity, 64);
    }

    /** Producer: copies descriptor {@code index} in; false when the ring is full (the caller keeps the frame). */
    boolean offer(final MemorySegment descriptors, final int index) {
        final long tail = memory.get(ValueLayout.JAVA_LONG, TAIL_OFFSET);
        if (tail - headSeen >= capacity) {
            headSeen = (long) POSITION.getAcquire(memory, HEAD_OFFSET);
            if (tail - headSeen >= capacity) {
                return false;
            }
        }
        MemorySegment.copy(descriptors, (long) index * FrameDescriptors.SIZE, memory,
            SLOTS_OFFSET + (tail & mask) * FrameDescriptors.SIZE, FrameDescriptors.SIZE);
        POSITION.setRelease(memory, TAIL_OFFSET, tail + 1);
        return true;
    }

    /** Consumer: whether nothing waits (one shared read, only when its last view says so). */
    boolean isEmpty() {
        final long head = memory.get(ValueLayout.JAVA_LONG, HEAD_OFFSET);
        if (head != tailSeen) {
            return false;
        }
        tailSeen = (long) POSITION.getAcquire(memory, TAIL_OFFSET);
        return head == tailSeen;
    }

    /** Consumer: moves up to {@code max} descriptors into {@code out} from index {@code at}; returns how many. */
    int poll(final MemorySegment out, final int at, final int max) {
        final long head = memory.get(ValueLayout.JAVA_LONG, HEAD_OFFSET);
        if (head == tailSeen) {
            tailSeen = (long) POSITION.getAcquire(memory, TAIL_OFFSET);
        }
        final int count = (int) Math.min(max, tailSeen - head);
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(memory, SLOTS_OFFSET + ((head + i) & mask) * FrameDescriptors.SIZE, out,
                (long) (at + i) * FrameDescriptors.SIZE, FrameDescriptors.SIZE);
        }
        if (count > 0) {
            POSITION.setRelease(memory, HEAD_OFFSET, head + count);
        }
        return count;
    }
}
