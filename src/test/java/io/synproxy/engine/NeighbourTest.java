package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synproxy.TestSupport;
import io.synproxy.Tshark;
import io.synproxy.config.ProxyConfig;
import io.synproxy.pcap.PcapWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ARP and neighbour discovery for the VIPs, with requests made by scapy and replies read by tshark. */
class NeighbourTest {
    private static final long PORT_MAC = 0x02000000_0a0bL;

    @TempDir
    Path dir;

    @Test
    void requestsForOurAddressesAreAnsweredAndOthersIgnored() throws Exception {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        engine.setMacs(PORT_MAC, -1);
        final List<String> files = List.of("arp_request_vip", "ns_vip", "arp_request_other", "ns_other", "ns_dad");
        final List<byte[]> inputs = files.stream().map(NeighbourTest::frame).toList();
        final Path out = dir.resolve("replies.pcap");
        try (TestBurst burst = new TestBurst(inputs).run(engine, TestSupport.FIXTURE_MILLIS);
             PcapWriter writer = new PcapWriter(out)) {
            assertEquals(Verdict.TX_CLIENT, burst.verdict(0), "ARP for the VIP: " + burst.reason(0));
            assertEquals(Verdict.TX_CLIENT, burst.verdict(1), "NS for the VIP: " + burst.reason(1));
            assertEquals(DropReason.ARP_IGNORED, burst.reason(2));
            assertEquals(DropReason.ND_IGNORED, burst.reason(3));
            assertEquals(DropReason.ND_IGNORED, burst.reason(4), "duplicate address detection is not answered");
            writer.write(0, burst.output(0));
            writer.write(0, burst.output(1));
        }
        assertEquals(2, engine.counters().get(EngineCounters.NEIGHBOUR_REPLIES));
        final List<String[]> rows = Tshark.fields(out, "eth.src", "eth.dst", "arp.opcode", "arp.src.hw_mac",
            "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4", "icmpv6.type", "icmpv6.nd.na.target_address",
            "icmpv6.opt.linkaddr", "icmpv6.nd.na.flag.s", "icmpv6.checksum.status", "ipv6.src", "ipv6.dst",
            "ipv6.hlim", "_ws.malformed");
        final String[] arp = rows.get(0);
        assertEquals(List.of("02:00:00:00:0a:0b", "02:00:00:00:00:01", "2", "02:00:00:00:0a:0b", "198.51.100.10",
            "02:00:00:00:00:01", "192.0.2.1"), List.of(arp).subList(0, 7));
        assertEquals("", arp[15]);
        final String[] na = rows.get(1);
        assertEquals("02:00:00:00:0a:0b", na[0]);
        assertEquals("02:00:00:00:00:01", na[1]);
        assertEquals("136", na[7]);
        assertEquals("2001:db8:100::10", na[8]);
        assertEquals("02:00:00:00:0a:0b", na[9]);
        assertEquals("1", na[10], "solicited");
        assertEquals("1", na[11], "ICMPv6 checksum good");
        assertEquals("2001:db8:100::10", na[12]);
        assertEquals("2001:db8::1", na[13]);
        assertEquals("255", na[14]);
        assertEquals("", na[15]);
    }

    @Test
    void withoutThePortsMacABroadcastRequestCannotBeAnswered() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        try (TestBurst burst = new TestBurst(List.of(frame("arp_request_vip"))).run(engine, 0)) {
            assertEquals(DropReason.NO_LOCAL_MAC, burst.reason(0));
        }
    }

    private static byte[] frame(final String name) {
        try {
            return GoldenFixtureTest.first(name).data();
        } catch (final java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
