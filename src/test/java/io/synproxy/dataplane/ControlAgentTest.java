package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SaltSnapshot;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;
import org.junit.jupiter.api.Test;

class ControlAgentTest {
    private static final byte[] SECRET = new byte[32];

    @Test
    void publishesAtEachEpochAndAtTheEndOfEachGrace() {
        final SaltSchedule schedule = new SaltSchedule(SECRET, 10, 4);
        final AtomicLong clock = new AtomicLong(schedule.epochStartMillis(1000) + 1000);
        final OneToOneConcurrentArrayQueue<SaltSnapshot> a = ControlAgent.newQueue();
        final OneToOneConcurrentArrayQueue<SaltSnapshot> b = ControlAgent.newQueue();
        final ControlAgent control = new ControlAgent(schedule, clock::get, List.of(a, b));

        assertEquals(1, control.doWork());
        SaltSnapshot first = a.poll();
        assertEquals(1000, first.epoch());
        assertTrue(first.previousValid(), "1 s into the epoch, inside the 4 s grace");
        assertTrue(first == b.poll(), "every worker gets the same snapshot");

        clock.set(schedule.epochStartMillis(1000) + 3999);
        assertEquals(0, control.doWork(), "nothing changes before the grace ends");
        assertNull(a.poll());

        clock.set(schedule.epochStartMillis(1000) + 4000);
        assertEquals(1, control.doWork());
        final SaltSnapshot graceOver = a.poll();
        assertEquals(1000, graceOver.epoch());
        assertFalse(graceOver.previousValid());

        clock.set(schedule.epochStartMillis(1001));
        assertEquals(1, control.doWork());
        final SaltSnapshot next = a.poll();
        assertEquals(1001, next.epoch());
        assertTrue(next.previousValid());
        assertEquals(schedule.snapshot(1001, true).currentK0(), next.currentK0(), "keys as the schedule derives them");
        assertEquals(first.currentK0(), next.previousK0(), "the previous key is the last epoch's");
        assertEquals(3, control.publications());
    }

    @Test
    void aReloadHandsEveryWorkerTheSameNewBackendTable() throws Exception {
        final java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("reload");
        final io.synproxy.config.ProxyConfig config = io.synproxy.TestSupport.config(dir,
            io.synproxy.TestSupport.BASE_CONFIG);
        final SaltSchedule schedule = new SaltSchedule(SECRET, 10, 4);
        final OneToOneConcurrentArrayQueue<io.synproxy.engine.BackendTable> a = new OneToOneConcurrentArrayQueue<>(4);
        final OneToOneConcurrentArrayQueue<io.synproxy.engine.BackendTable> b = new OneToOneConcurrentArrayQueue<>(4);
        final AtomicLong builds = new AtomicLong();
        final ControlAgent control = new ControlAgent(schedule, () -> 0L, List.of(ControlAgent.newQueue(),
            ControlAgent.newQueue()), List.of(a, b), () -> {
                builds.incrementAndGet();
                return io.synproxy.engine.BackendTable.of(config, io.synproxy.TestSupport.keys(config));
            });
        control.doWork();
        assertNull(a.poll(), "no reload asked, no table");
        control.requestReload();
        control.doWork();
        final io.synproxy.engine.BackendTable first = a.poll();
        assertTrue(first != null && first == b.poll(), "one table, built once, for every worker");
        assertEquals(1, builds.get());
        assertEquals(1, control.reloads());
    }

    /**
     * The control thread publishes as fast as a fake clock can turn epochs while a worker thread takes snapshots:
     * every snapshot the worker sees is whole (its keys are exactly the schedule's for its epoch) and epochs only
     * move forward.
     */
    @Test
    void aWorkerNeverSeesAHalfWrittenSalt() throws Exception {
        final SaltSchedule schedule = new SaltSchedule(SECRET, 1, 1);
        final AtomicLong clock = new AtomicLong(0);
        final OneToOneConcurrentArrayQueue<SaltSnapshot> queue = ControlAgent.newQueue();
        final ControlAgent control = new ControlAgent(schedule, () -> clock.addAndGet(250), List.of(queue));
        final AtomicBoolean done = new AtomicBoolean();
        final AtomicReference<String> problem = new AtomicReference<>();
        final AtomicLong seen = new AtomicLong();
        final Thread worker = new Thread(() -> {
            long lastEpoch = -1;
            while (!done.get() || !queue.isEmpty()) {
                final SaltSnapshot s = queue.poll();
                if (s == null) {
                    continue;
                }
                seen.incrementAndGet();
                final SaltSnapshot expected = schedule.snapshot(s.epoch(), true);
                if (s.currentK0() != expected.currentK0() || s.currentK1() != expected.currentK1()
                    || s.previousK0() != expected.previousK0() || s.previousK1() != expected.previousK1()) {
                    problem.compareAndSet(null, "epoch " + s.epoch() + " has keys of another epoch");
                }
                if (s.epoch() < lastEpoch) {
                    problem.compareAndSet(null, "epoch went back from " + lastEpoch + " to " + s.epoch());
                }
                lastEpoch = s.epoch();
            }
        });
        worker.start();
        // Publish until the worker has checked plenty of snapshots: how many it gets per publication depends on
        // the scheduler (two cores, shared with the build), so the loop runs on that count, not a fixed one.
        final long deadline = System.nanoTime() + 20_000_000_000L;
        for (int i = 0; (i < 20_000 || seen.get() < 1_000) && System.nanoTime() < deadline; i++) {
            control.doWork();
        }
        done.set(true);
        worker.join(30_000);
        assertNull(problem.get());
        assertTrue(seen.get() >= 1_000, "the worker took " + seen.get() + " snapshots");
    }
}
