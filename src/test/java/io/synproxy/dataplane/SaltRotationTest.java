package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.engine.EngineCounters;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Salt rotation through the running data plane, with a 2-second period and a 1-second grace and a clock the test
 * moves: SYN-ACKs issued in one epoch; their ACKs (made by scapy) validate in the next epoch within the grace and are
 * refused after it. The control thread publishes each salt state to the worker as the clock crosses it.
 */
class SaltRotationTest {
    @TempDir
    Path dir;

    private int devices;

    @Test
    void acksValidateAcrossARotationWithinTheGraceOnly() throws Exception {
        TestEal.init();
        final ProxyConfig base = TestSupport.config(dir, TestSupport.BASE_CONFIG
            .replace("salt_period_seconds = 60", "salt_period_seconds = 2")
            .replace("grace_seconds = 60", "grace_seconds = 1"));
        final SaltSchedule schedule = TestSupport.keys(base).saltSchedule(base);
        final long epochStart = schedule.epochStartMillis(schedule.epochAt(TestSupport.FIXTURE_MILLIS)) + 2000;
        final AtomicLong clock = new AtomicLong(epochStart + 1500);

        final Path synAcks = dir.resolve("synacks.pcap");
        assertEquals(15, run(DpdkPcapTest.ALL_INPUTS.toAbsolutePath(), synAcks, clock, EngineCounters.SYN_ACKS_SENT,
            31));
        final Path acks = dir.resolve("acks.pcap");
        final Process scapy = new ProcessBuilder("/usr/bin/python3", "scripts/fixtures/make_acks.py",
            synAcks.toString(), acks.toString()).redirectErrorStream(true).start();
        final String log = new String(scapy.getInputStream().readAllBytes());
        assertTrue(scapy.waitFor(120, TimeUnit.SECONDS) && scapy.exitValue() == 0, log);

        clock.set(epochStart + 2000 + 500);
        assertEquals(15, run(acks, dir.resolve("in-grace.pcap"), clock, EngineCounters.ACKS_VALID, 31),
            "next epoch, within the grace: every handshake ACK validates");
        clock.set(epochStart + 2000 + 1000);
        assertEquals(0, run(acks, dir.resolve("after-grace.pcap"), clock, EngineCounters.ACKS_VALID, 31),
            "next epoch, grace over: none does");
        clock.set(epochStart + 4000 + 100);
        assertEquals(0, run(acks, dir.resolve("two-later.pcap"), clock, EngineCounters.ACKS_VALID, 31),
            "two epochs later: none does");
    }

    /** Runs the data plane over one capture until it has seen {@code frames} frames; returns the counter's total. */
    private long run(final Path in, final Path out, final AtomicLong clock, final int counter, final int frames)
        throws Exception {
        final String device = "net_pcap_rot" + devices++ + ",rx_pcap=" + in + ",tx_pcap=" + out;
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG
            .replace("salt_period_seconds = 60", "salt_period_seconds = 2")
            .replace("grace_seconds = 60", "grace_seconds = 1") + """

            [dataplane]
            stats_file = "%s"

            [[port]]
            name = "edge"
            device = "%s"

            [[worker]]
            port = "edge"
            core = 0
            """.formatted(dir.resolve("stats"), device));
        try (DataPlane plane = DataPlane.start(config, TestSupport.keys(config), clock::get)) {
            final long deadline = System.nanoTime() + 20_000_000_000L;
            while (plane.total(EngineCounters.FRAMES_RECEIVED) < frames && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            // Stopped first: the worker is then done with its last burst and the counters are final.
            plane.close();
            assertEquals(frames, plane.total(EngineCounters.FRAMES_RECEIVED));
            return plane.total(counter);
        }
    }
}
