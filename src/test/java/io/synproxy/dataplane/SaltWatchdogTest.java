package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.engine.EngineCounters;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.TestBurst;
import io.synproxy.engine.Verdict;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.TcpHeader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control thread that stops publishing salts: the workers keep answering SYNs under the last salt they got, and
 * count every such SYN-ACK once the salt is a second late; the watchdog says so when it starts, while it lasts and
 * when it ends.
 */
class SaltWatchdogTest {
    @TempDir
    Path dir;

    private static int synAck(final PacketEngine engine, final long nowMillis) {
        final byte[] syn = FrameBuilder.tcp(IpAddress.parse("192.0.2.1"), IpAddress.parse("198.51.100.10"), 40000,
            80, 1, 0, TcpHeader.SYN, new byte[0], 0);
        try (TestBurst burst = new TestBurst(List.of(syn)).run(engine, nowMillis)) {
            return burst.verdict(0);
        }
    }

    @Test
    void synAcksUnderASaltMoreThanASecondLateAreCountedAndStillSent() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final SaltSchedule schedule = TestSupport.keys(config).saltSchedule(config);
        final long end = schedule.epochStartMillis(schedule.epochAt(TestSupport.FIXTURE_MILLIS) + 1);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        assertEquals(Verdict.TX_CLIENT, synAck(engine, end - 1));
        assertEquals(Verdict.TX_CLIENT, synAck(engine, end + PacketEngine.STALE_SALT_AFTER_MILLIS - 1));
        assertEquals(0, engine.counters().get(EngineCounters.SYN_ACKS_STALE_SALT), "a salt late by less than 1 s");
        assertEquals(Verdict.TX_CLIENT, synAck(engine, end + PacketEngine.STALE_SALT_AFTER_MILLIS));
        assertEquals(Verdict.TX_CLIENT, synAck(engine, end + 30_000));
        assertEquals(2, engine.counters().get(EngineCounters.SYN_ACKS_STALE_SALT));
        engine.applySalts(schedule.snapshotAt(end + 30_000));
        assertEquals(Verdict.TX_CLIENT, synAck(engine, end + 30_000));
        assertEquals(2, engine.counters().get(EngineCounters.SYN_ACKS_STALE_SALT), "the new salt arrived");
    }

    @Test
    void theWatchdogReportsAStalledControlThreadWhileItLastsAndWhenItEnds() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final SaltSchedule schedule = TestSupport.keys(config).saltSchedule(config);
        final long end = schedule.epochStartMillis(schedule.epochAt(TestSupport.FIXTURE_MILLIS) + 1);
        final PacketEngine current = TestSupport.engine(config, end - 5_000);
        final PacketEngine stalled = TestSupport.engine(config, end - 5_000);
        final AtomicLong clock = new AtomicLong(end - 2_000);
        final ByteArrayOutputStream log = new ByteArrayOutputStream();
        final SaltWatchdog watchdog = new SaltWatchdog(List.of("worker-0", "worker-1"), List.of(current, stalled),
            clock::get, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertFalse(watchdog.check(), "before the boundary");
        clock.set(end + 500);
        current.applySalts(schedule.snapshotAt(end + 500));
        assertFalse(watchdog.check(), "half a second late is not yet stale");
        clock.set(end + 1_500);
        assertTrue(watchdog.check());
        final String first = log.toString(StandardCharsets.UTF_8);
        assertTrue(first.startsWith("synproxy: error: worker-1 still issues cookies under salt epoch "
            + stalled.salts().epoch() + ", which ended 1.5 s ago"), first);
        clock.set(end + 5_000);
        assertTrue(watchdog.check());
        assertEquals(first, log.toString(StandardCharsets.UTF_8), "not repeated within 10 s");
        clock.set(end + 1_500 + SaltWatchdog.REPEAT_MILLIS);
        assertTrue(watchdog.check());
        assertEquals(2, log.toString(StandardCharsets.UTF_8).split("\n").length, "repeated after 10 s");
        stalled.applySalts(schedule.snapshotAt(clock.get()));
        assertFalse(watchdog.check());
        assertTrue(log.toString(StandardCharsets.UTF_8).endsWith("synproxy: salts current again on every worker\n"));
    }
}
