package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.bindings.Shim;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.EngineCounters;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.TcpHeader;
import io.synproxy.pcap.PcapWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A port slower than the traffic and a mempool too small for the load, with real DPDK parts: a net_pcap port replays
 * data segments for a VIP, the worker encapsulates them toward a net_ring port whose ring nobody empties but this
 * test (the slow port: it takes 1023 frames, then refuses).
 */
class ExhaustionTest {
    private static final IpAddress VIP4 = IpAddress.parse("198.51.100.10");

    @TempDir
    Path dir;

    private Path capture(final int frames) throws Exception {
        final Path file = dir.resolve("data-" + frames + ".pcap");
        try (PcapWriter writer = new PcapWriter(file)) {
            for (int i = 0; i < frames; i++) {
                final IpAddress client = IpAddress.parse("192.0.2." + (1 + i % 200));
                writer.write(i * 1000L, FrameBuilder.tcp(client, VIP4, 1024 + i % 60000, 80, i, 7, TcpHeader.ACK,
                    new byte[0], 64));
            }
        }
        return file;
    }

    private ProxyConfig config(final String name, final int mbufs, final Path capture) {
        return TestSupport.config(dir, TestSupport.BASE_CONFIG + """

            [dataplane]
            eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci"]
            stats_file = "%s"
            mbufs = %d

            [[port]]
            name = "edge"
            device = "net_pcap_%s,rx_pcap=%s"

            [[port]]
            name = "slow"
            device = "net_ring_%s,nodeaction=net_ring_%s:0:CREATE"

            [[worker]]
            port = "edge"
            core = 0
            backend_port = "slow"
            """.formatted(dir.resolve(name + ".stats"), mbufs, name, capture, name, name));
    }

    private static MemorySegment ring(final String name) {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment ring = Shim.ringLookup(arena.allocateFrom("ETH_RXTX0_net_ring_" + name));
            assertTrue(ring.address() != 0, "the net_ring port's ring");
            return ring;
        }
    }

    private static void awaitReceived(final DataPlane plane, final long frames) throws InterruptedException {
        final long deadline = System.nanoTime() + 20_000_000_000L;
        long last = -1;
        long stableSince = System.nanoTime();
        // The capture is finite: done when the counters stop moving (frames lost to a missing mbuf never arrive).
        while (System.nanoTime() < deadline) {
            final long now = plane.total(EngineCounters.FRAMES_RECEIVED);
            if (now != last) {
                last = now;
                stableSince = System.nanoTime();
            } else if (now >= frames || System.nanoTime() - stableSince > 500_000_000L) {
                return;
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aTxRingThatRefusesCostsCountedDropsAndNoMbuf() throws Exception {
        TestEal.init();
        final ProxyConfig config = config("refuse", 8191, capture(20_000));
        try (DataPlane plane = DataPlane.start(config, TestSupport.keys(config))) {
            final MemorySegment ring = ring("refuse");
            awaitReceived(plane, 20_000);
            final long txDropped = plane.workers().get(0).txDropped();
            final int held = Shim.ringCount(ring);
            assertEquals(20_000, plane.total(EngineCounters.FRAMES_RECEIVED));
            assertEquals(1023, held, "the slow port took what its ring holds");
            assertEquals(20_000 - 1023, txDropped, "the rest it refused: freed, counted (tx-dropped)");
            final long total = plane.mbufsTotal();
            assertEquals(total - 1023, plane.mbufsFree(), "nothing leaked: only what the ring holds is out");
            assertEquals(1023, Shim.ringDrain(ring, 4096));
            assertEquals(total, plane.mbufsFree(), "the pools' free count is back at its start");
        }
    }

    @Test
    void anExhaustedMempoolCostsCountedDropsAndRecoversOnItsOwn() throws Exception {
        TestEal.init();
        final int frames = 200_000;
        final ProxyConfig config = config("exhaust", 1023, capture(frames));
        try (DataPlane plane = DataPlane.start(config, TestSupport.keys(config))) {
            final MemorySegment ring = ring("exhaust");
            // The ports may sit on pools of their own (one per NUMA socket): the receiving one's is what runs dry.
            final long others = plane.mbufsTotal() - 1023;
            // The slow port drains a little at a time (64 frames every 100 us) while the capture floods in: the pool
            // runs dry, the port loses what arrives meanwhile (counted), and takes frames again as mbufs come back.
            final java.util.concurrent.atomic.AtomicLong drainedBySlowPort = new java.util.concurrent.atomic.AtomicLong();
            final java.util.concurrent.atomic.AtomicBoolean draining = new java.util.concurrent.atomic.AtomicBoolean(true);
            final Thread slowPort = new Thread(() -> {
                while (draining.get()) {
                    drainedBySlowPort.addAndGet(Shim.ringDrain(ring, 64));
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                }
            });
            slowPort.start();
            long exhaustedAt = -1;
            final long deadline = System.nanoTime() + 20_000_000_000L;
            long last = -1;
            long stableSince = System.nanoTime();
            while (System.nanoTime() < deadline) {
                final long received = plane.total(EngineCounters.FRAMES_RECEIVED);
                if (exhaustedAt < 0 && plane.mbufsFree() - others < 64) {
                    exhaustedAt = received;
                }
                if (received != last) {
                    last = received;
                    stableSince = System.nanoTime();
                } else if (System.nanoTime() - stableSince > 500_000_000L) {
                    break;
                }
                Thread.onSpinWait();
            }
            draining.set(false);
            slowPort.join();
            long drained = drainedBySlowPort.get();
            drained += Shim.ringDrain(ring, 4096);
            final long encapsulated = plane.total(EngineCounters.ENCAPSULATED);
            final long received = plane.total(EngineCounters.FRAMES_RECEIVED);
            // Counters are published every 100 ms when idle: wait for the port's.
            Thread.sleep(1500);
            final Map<String, Long> counters = DataPlaneTest.read(dir.resolve("exhaust.stats"));
            final long noMbuf = counters.get("port-edge rx-mbuf-alloc-failed");
            System.out.printf("exhaustion: %d frames in the capture, %d received, %d without an mbuf, %d encapsulated,"
                + " %d refused, %d drained by the slow port; the pool ran dry after %d%n", frames, received, noMbuf,
                encapsulated, plane.workers().get(0).txDropped(), drained, exhaustedAt);
            assertTrue(exhaustedAt >= 0, "the pool ran dry");
            assertTrue(noMbuf > 0, "frames lost for want of an mbuf are counted by the port");
            assertEquals(frames, received + noMbuf, "every frame of the capture: received, or counted as lost");
            // Any frame received after the pool ran dry came in an mbuf the slow port gave back; a few hundred say it
            // was no sampling accident (how many depends on how long the capture lasts against the drain's pace).
            assertTrue(received - exhaustedAt >= 256, "frames came in again once the slow port gave mbufs back: "
                + (received - exhaustedAt) + " after the pool first ran dry");
            assertEquals(received, encapsulated, "whatever came in went out or was refused, counted");
            assertEquals(encapsulated, drained + plane.workers().get(0).txDropped());
            assertEquals(plane.mbufsTotal(), plane.mbufsFree(), "the pool's free count is back at its start");
            assertEquals(1L, counters.get("port-edge link-up"), "the port's link state is published");
        }
    }
}
