package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.Tshark;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.EngineCounters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.agrona.concurrent.status.CountersReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole data plane from its configuration: a net_pcap port, a worker thread pinned to the configured core (as
 * the OS reports it), the control thread, the counters file; the capture's frames come out as the engine decided.
 */
class DataPlaneTest {
    @TempDir
    Path dir;

    @Test
    void aPinnedWorkerProxiesTheCaptureAndPublishesItsCounters() throws Exception {
        TestEal.init();
        final int core = Dataplane().cardinality() > 1 ? 1 : 0;
        final Path out = dir.resolve("out.pcap");
        final Path statsFile = dir.resolve("stats");
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG + """

            [dataplane]
            eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci"]
            stats_file = "%s"

            [[port]]
            name = "edge"
            device = "net_pcap_dp1,rx_pcap=%s,tx_pcap=%s"

            [[worker]]
            port = "edge"
            queue = 0
            core = %d
            """.formatted(statsFile, DpdkPcapTest.ALL_INPUTS.toAbsolutePath(), out, core));
        try (DataPlane plane = DataPlane.start(config, TestSupport.keys(config))) {
            final long deadline = System.nanoTime() + 20_000_000_000L;
            while (plane.total(EngineCounters.FRAMES_RECEIVED) < 31 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(31, plane.total(EngineCounters.FRAMES_RECEIVED));
            assertEquals(String.valueOf(core), affinityOfThread("worker-0"), "the worker runs on its core only");
            while (plane.control().publications() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(plane.control().publications() >= 1, "the control thread published the salts");
        }
        final Map<String, Long> counters = read(statsFile);
        assertEquals(31L, counters.get("worker-0 rx-frames"));
        assertEquals(15L, counters.get("worker-0 syn-ack-sent"));
        assertEquals(2L, counters.get("worker-0 encapsulated"));
        assertEquals(13L, counters.get("worker-0 dropped"));
        assertEquals(1L, counters.get("worker-0 neighbour-replies"), "the ARP request for the VIP, answered");
        assertEquals(2L, counters.get("worker-0 drop-fragment"));
        assertEquals(0L, counters.get("worker-0 tx-dropped"));
        assertEquals(31L, counters.get("port-edge rx-packets"), "the port's own counters, from DPDK");
        assertEquals(18L, counters.get("port-edge tx-packets"));
        assertEquals(0L, counters.get("port-edge rx-mbuf-alloc-failed"));
        int frames = 0;
        for (final String[] row : Tshark.fields(out, "ip.checksum.status", "tcp.checksum.status", "_ws.malformed")) {
            frames++;
            assertTrue(row[0].isEmpty() || row[0].equals("1"), "IPv4 checksum");
            assertTrue(row[1].isEmpty() || row[1].equals("1"), "TCP checksum");
            assertTrue(row[2].isEmpty(), "malformed");
        }
        assertEquals(18, frames, "15 SYN-ACKs, an ARP reply and 2 encapsulated packets left the port");
    }

    /**
     * Bursts that all go one way (32 SYNs, 32 frames to drop, 32 established ACKs, 32 SYNs) leave straight from the
     * RX descriptors or are freed whole: every frame still comes out, or is counted as dropped, exactly once.
     */
    @Test
    void wholeBurstsGoOutOrAreFreedWhole() throws Exception {
        TestEal.init();
        final Path fixtures = Path.of("src/test/resources/fixtures");
        final Path in = dir.resolve("bursts.pcap");
        try (io.synproxy.pcap.PcapWriter writer = new io.synproxy.pcap.PcapWriter(in)) {
            long time = 1;
            for (final String name : new String[] {"syn_v4_linux", "drop_not_vip", "ack_v4_established",
                "syn_v4_curl"}) {
                final byte[] frame;
                try (io.synproxy.pcap.PcapReader reader = new io.synproxy.pcap.PcapReader(
                    fixtures.resolve(name + ".pcap"))) {
                    frame = reader.next().data();
                }
                for (int i = 0; i < 32; i++) {
                    writer.write(time++, frame);
                }
            }
        }
        final Path out = dir.resolve("bursts-out.pcap");
        final Path statsFile = dir.resolve("stats");
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG + """

            [dataplane]
            stats_file = "%s"

            [[port]]
            name = "edge"
            device = "net_pcap_dp3,rx_pcap=%s,tx_pcap=%s"

            [[worker]]
            port = "edge"
            core = 0
            """.formatted(statsFile, in.toAbsolutePath(), out));
        try (DataPlane plane = DataPlane.start(config, TestSupport.keys(config))) {
            final long deadline = System.nanoTime() + 20_000_000_000L;
            while (plane.total(EngineCounters.FRAMES_RECEIVED) < 128 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }
        final Map<String, Long> counters = read(statsFile);
        assertEquals(128L, counters.get("worker-0 rx-frames"));
        assertEquals(64L, counters.get("worker-0 syn-ack-sent"));
        assertEquals(32L, counters.get("worker-0 encapsulated"));
        assertEquals(32L, counters.get("worker-0 dropped"));
        assertEquals(0L, counters.get("worker-0 tx-dropped"));
        assertEquals(96L, counters.get("port-edge tx-packets"));
        int synAcks = 0;
        int encapsulated = 0;
        for (final String[] row : Tshark.fields(out, "ip.checksum.status", "tcp.checksum.status", "tcp.flags",
            "udp.dstport")) {
            assertTrue(row[0].contains("1") && !row[0].contains("0") && !row[0].contains("2"), "IPv4 checksum");
            if (row[3].isEmpty()) {
                assertEquals("1", row[1], "SYN-ACK TCP checksum");
                assertEquals("0x0012", row[2], "a SYN-ACK");
                synAcks++;
            } else {
                assertEquals("6080", row[3]);
                encapsulated++;
            }
        }
        assertEquals(64, synAcks);
        assertEquals(32, encapsulated);
    }

    @Test
    void twoWorkersOnTwoPortsRunOnTheirOwnCores() throws Exception {
        TestEal.init();
        final java.util.BitSet online = Dataplane();
        org.junit.jupiter.api.Assumptions.assumeTrue(online.cardinality() >= 2, "needs two cores");
        final int coreA = online.nextSetBit(0);
        final int coreB = online.nextSetBit(coreA + 1);
        final Path input = DpdkPcapTest.ALL_INPUTS.toAbsolutePath();
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG + """

            [dataplane]
            stats_file = "%s"

            [[port]]
            name = "a"
            device = "net_pcap_dp2a,rx_pcap=%s,tx_pcap=%s,tx_pcap=%s"

            [[port]]
            name = "b"
            device = "net_pcap_dp2b,rx_pcap=%s,tx_pcap=%s"

            [[worker]]
            port = "a"
            core = %d

            [[worker]]
            port = "b"
            core = %d
            backend_port = "a"
            """.formatted(dir.resolve("stats"), input, dir.resolve("a.pcap"), dir.resolve("a1.pcap"), input,
            dir.resolve("b.pcap"), coreA, coreB));
        try (DataPlane plane = DataPlane.start(config, TestSupport.keys(config))) {
            final long deadline = System.nanoTime() + 20_000_000_000L;
            while (plane.total(EngineCounters.FRAMES_RECEIVED) < 62 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(62, plane.total(EngineCounters.FRAMES_RECEIVED));
            assertEquals(String.valueOf(coreA), affinityOfThread("worker-0"));
            assertEquals(String.valueOf(coreB), affinityOfThread("worker-1"));
        }
        final Map<String, Long> counters = read(dir.resolve("stats"));
        assertEquals(31L, counters.get("worker-0 rx-frames"));
        assertEquals(31L, counters.get("worker-1 rx-frames"));
        // Worker 1 sends its SYN-ACKs out of port b and its encapsulated packets out of port a, on a TX queue of its
        // own there (net_pcap: one file per TX queue).
        assertEquals(15 + 1 + 2, Tshark.fields(dir.resolve("a.pcap"), "frame.number").size());
        assertEquals(2, Tshark.fields(dir.resolve("a1.pcap"), "udp.dstport").size());
        assertEquals(15 + 1, Tshark.fields(dir.resolve("b.pcap"), "frame.number").size());
    }

    private static java.util.BitSet Dataplane() {
        return io.synproxy.config.Dataplane.onlineCores();
    }

    static Map<String, Long> read(final Path statsFile) {
        final CountersReader reader = StatsFile.open(statsFile);
        final Map<String, Long> out = new HashMap<>();
        reader.forEach((id, type, key, label) -> out.put(label, reader.getCounterValue(id)));
        return out;
    }

    /** Cpus_allowed_list of this process's thread whose name is {@code name}, as Linux reports it. */
    static String affinityOfThread(final String name) throws Exception {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (final Path task : tasks.toList()) {
                if (Files.readString(task.resolve("comm")).strip().equals(name)) {
                    for (final String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("Cpus_allowed_list:")) {
                            return line.substring(line.indexOf(':') + 1).strip();
                        }
                    }
                }
            }
        }
        throw new AssertionError("no thread named " + name);
    }
}
