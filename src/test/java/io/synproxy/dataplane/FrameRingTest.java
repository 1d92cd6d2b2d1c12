package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.engine.FrameDescriptors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The worker-to-agent ring: order, fullness, wrap-around, and two threads at once. */
class FrameRingTest {
    private static void describe(final MemorySegment descriptors, final int index, final long address) {
        FrameDescriptors.setFrame(descriptors, index, address, 60, 0, 0, 0);
    }

    @Test
    void keepsOrderRefusesWhenFullAndWrapsAround() {
        try (Arena arena = Arena.ofConfined()) {
            final FrameRing ring = new FrameRing(8, arena);
            final MemorySegment in = arena.allocate(FrameDescriptors.SIZE * 16L);
            final MemorySegment out = arena.allocate(FrameDescriptors.SIZE * 16L);
            assertTrue(ring.isEmpty());
            long next = 1;
            long expected = 1;
            for (int round = 0; round < 5; round++) {
                for (int i = 0; i < 8; i++) {
                    describe(in, 0, next++);
                    assertTrue(ring.offer(in, 0), "room for 8");
                }
                describe(in, 0, 999);
                assertFalse(ring.offer(in, 0), "the ninth is refused: the caller keeps its frame");
                assertFalse(ring.isEmpty());
                assertEquals(3, ring.poll(out, 0, 3));
                assertEquals(5, ring.poll(out, 3, 16), "what is left, not more");
                for (int i = 0; i < 8; i++) {
                    assertEquals(expected++, FrameDescriptors.address(out, i));
                }
                assertTrue(ring.isEmpty());
                assertEquals(0, ring.poll(out, 0, 16));
            }
        }
    }

    @Test
    void oneProducerOneConsumerLoseNothingAndKeepOrder() throws InterruptedException {
        final long frames = 2_000_000;
        try (Arena arena = Arena.ofShared()) {
            final FrameRing ring = new FrameRing(1024, arena);
            final MemorySegment in = arena.allocate(FrameDescriptors.SIZE);
            final Thread producer = new Thread(() -> {
                for (long n = 1; n <= frames; ) {
                    describe(in, 0, n);
                    if (ring.offer(in, 0)) {
                        n++;
                    } else {
                        Thread.onSpinWait();
                    }
                }
            });
            producer.start();
            final MemorySegment out = arena.allocate(FrameDescriptors.SIZE * 32L);
            long expected = 1;
            boolean ordered = true;
            while (expected <= frames) {
                final int n = ring.poll(out, 0, 32);
                for (int i = 0; i < n; i++) {
                    ordered &= FrameDescriptors.address(out, i) == expected++;
                }
            }
            producer.join();
            assertTrue(ordered, "every frame once, in order");
            assertTrue(ring.isEmpty());
        }
    }
}
