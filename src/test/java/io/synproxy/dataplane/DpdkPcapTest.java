package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.Tshark;
import io.synproxy.bindings.Shim;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.EngineCounters;
import io.synproxy.engine.FrameDescriptors;
import io.synproxy.engine.PacketEngine;
import io.synproxy.pcap.PcapReader;
import io.synproxy.replay.CaptureReplay;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real DPDK path: the fixtures replayed by DPDK's net_pcap driver (rx_pcap), through a {@link PortWorker}, and
 * what the port transmitted (tx_pcap) compared byte for byte with the pure-Java replay of the same capture, and
 * checked by tshark.
 */
class DpdkPcapTest {
    static final Path ALL_INPUTS = Path.of("src/test/resources/fixtures/all_inputs.pcap");

    @TempDir
    Path dir;

    @Test
    void theShimMatchesTheBindingsAndTheDescriptorLayout() {
        assertEquals(Shim.ABI_VERSION, Shim.abiVersion());
        final long[] expected = FrameDescriptors.shimLayout(Shim.STATS_COUNT);
        for (int item = 0; item < expected.length; item++) {
            assertEquals(expected[item], Shim.layout(item), "sp_layout item " + item);
        }
        assertEquals(-1, Shim.layout(expected.length), "no items beyond the ones Java checks");
        Dpdk.checkShim();
    }

    @Test
    void fixturesThroughNetPcapMatchTheJavaReplay() throws Exception {
        TestEal.init();
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final Path out = dir.resolve("dpdk-out.pcap");
        final int port = Dpdk.probe("net_pcap_t1,rx_pcap=" + ALL_INPUTS.toAbsolutePath() + ",tx_pcap=" + out);
        final MemorySegment pool = Dpdk.mempool("pcap-test-pool", 1023, 0, 2176, -1);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        try (Arena arena = Arena.ofConfined()) {
            Dpdk.startPort(port, 1, 1, 256, pool, true);
            // net_pcap offers no TX checksum offload: asked for it ("auto"), the port enables none, the engine is told
            // none, and every frame below goes out as the Java replay writes it.
            assertEquals(0, Dpdk.txChecksumOffered(port));
            assertEquals(0, Dpdk.txChecksum(port));
            engine.setTxChecksumOffload(Dpdk.txChecksum(port), Dpdk.txChecksum(port));
            final PortWorker worker = new PortWorker("worker-0", port, 0, 0, port, 0, engine,
                () -> TestSupport.FIXTURE_MILLIS, arena);
            int idle = 0;
            long frames = 0;
            while (idle < 1000) {
                final int n = worker.doWork();
                frames += n;
                idle = n == 0 ? idle + 1 : 0;
            }
            assertEquals(31, frames, "every frame of the capture was received");
            assertEquals(0, worker.txDropped());
            final long[] stats = Dpdk.stats(port);
            assertEquals(31, stats[Shim.STATS_IPACKETS]);
            assertEquals(17, stats[Shim.STATS_OPACKETS], "15 SYN-ACKs and 2 encapsulated");
            Dpdk.stopPort(port);
        } finally {
            Shim.mempoolFree(pool);
        }
        assertEquals(15, engine.counters().get(EngineCounters.SYN_ACKS_SENT));
        assertEquals(14, engine.counters().get(EngineCounters.DROPPED));

        final Path javaOut = dir.resolve("java-out.pcap");
        final PacketEngine replayEngine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        new CaptureReplay(replayEngine, TestSupport.keys(config).saltSchedule(config), CaptureReplay.Clock.CAPTURE,
            System::currentTimeMillis).run(ALL_INPUTS, javaOut);
        final List<byte[]> dpdk = frames(out);
        final List<byte[]> java = frames(javaOut);
        assertEquals(java.size(), dpdk.size());
        for (int i = 0; i < java.size(); i++) {
            assertArrayEquals(java.get(i), dpdk.get(i), "frame " + i + " differs between DPDK and the Java replay");
        }
        for (final String[] row : Tshark.fields(out, "ip.checksum.status", "_ws.malformed")) {
            assertEquals("1", row[0].isEmpty() ? "1" : row[0], "IPv4 checksum");
            assertTrue(row[1].isEmpty(), "malformed frame");
        }
    }

    private static List<byte[]> frames(final Path pcap) throws Exception {
        final List<byte[]> out = new ArrayList<>();
        try (PcapReader reader = new PcapReader(pcap)) {
            for (PcapReader.Frame f = reader.next(); f != null; f = reader.next()) {
                out.add(f.data());
            }
        }
        return out;
    }
}
