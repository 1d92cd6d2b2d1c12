package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synproxy.TestSupport;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exception path's classification, and next hops resolved while running. */
class HostPathTest {
    private static final IpAddress HOST4 = IpAddress.parse("10.1.1.2");
    private static final IpAddress HOST6 = IpAddress.parse("fd00:1::2");
    private static final IpAddress PEER4 = IpAddress.parse("10.1.1.1");
    private static final IpAddress PEER6 = IpAddress.parse("fd00:1::1");
    private static final IpAddress VIP4 = IpAddress.parse("198.51.100.10");
    private static final IpAddress STRANGER = IpAddress.parse("192.0.2.77");

    @TempDir
    Path dir;

    private PacketEngine engine(final boolean passOther) {
        final PacketEngine engine = TestSupport.engine(TestSupport.config(dir, TestSupport.BASE_CONFIG),
            TestSupport.FIXTURE_MILLIS);
        engine.setHostPath(List.of(HOST4, HOST6), List.of(PEER4, PEER6), passOther);
        return engine;
    }

    /** The verdict and, for the host, its class (as the worker reads them): "host-control", "host-other", a drop. */
    private static String outcome(final PacketEngine engine, final byte[] frame) {
        try (TestBurst burst = new TestBurst(List.of(frame)).run(engine, TestSupport.FIXTURE_MILLIS)) {
            return switch (burst.verdict(0)) {
                case Verdict.TO_HOST -> burst.reasonByte(0) == HostPath.CONTROL ? "host-control" : "host-other";
                case Verdict.DROP -> burst.reason(0).counterName();
                default -> "verdict-" + burst.verdict(0);
            };
        }
    }

    static byte[] arpRequest(final IpAddress sender, final IpAddress target) {
        final byte[] frame = new byte[60];
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.put(new byte[] {-1, -1, -1, -1, -1, -1, 2, 0, 0, 0, 0, 1}).putShort((short) EthernetHeader.ETHER_TYPE_ARP);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1);
        b.put(new byte[] {2, 0, 0, 0, 0, 1}).putInt(sender.v4()).put(new byte[6]).putInt(target.v4());
        return frame;
    }

    /** An IPv4 packet of another protocol (17: UDP; 1: ICMP) with a valid header checksum. */
    static byte[] ipv4(final IpAddress source, final IpAddress destination, final int protocol) {
        final byte[] frame = new byte[14 + 20 + 8];
        final MemorySegment m = MemorySegment.ofArray(frame);
        EthernetHeader.write(m, 0, FrameBuilder.PROXY_MAC, 0x020000000001L, EthernetHeader.ETHER_TYPE_IPV4);
        Ipv4Header.write(m, 14, 0, 28, 64, protocol, source.v4(), destination.v4());
        ByteBuffer.wrap(frame).putShort(14 + 10, (short) 0);
        ByteBuffer.wrap(frame).putShort(14 + 10, (short) Checksum.finish(Checksum.sum(m, 14, 20)));
        return frame;
    }

    /** A neighbour solicitation for {@code target} to its solicited-node group, hop limit 255. */
    static byte[] neighbourSolicitation(final IpAddress source, final IpAddress target) {
        final byte[] frame = new byte[14 + 40 + 24];
        final MemorySegment m = MemorySegment.ofArray(frame);
        final IpAddress group = IpAddress.parse("ff02::1:ff00:" + Integer.toHexString((int) (target.low() & 0xffff)));
        EthernetHeader.write(m, 0, 0x3333ff000002L, 0x020000000001L, EthernetHeader.ETHER_TYPE_IPV6);
        Ipv6Header.write(m, 14, 0, 0, 24, 58, 255, source.high(), source.low(), group.high(), group.low());
        ByteBuffer.wrap(frame).put(14 + 40, (byte) 135).putLong(14 + 48, target.high()).putLong(14 + 56, target.low());
        return frame;
    }

    @Test
    void controlTrafficArpAndNeighbourDiscoveryGoFirstOtherTrafficToTheHostAfter() {
        final PacketEngine engine = engine(false);
        assertEquals("host-control", outcome(engine, arpRequest(PEER4, HOST4)), "ARP for the host");
        assertEquals("host-control", outcome(engine, neighbourSolicitation(PEER6, HOST6)), "ND for the host");
        assertEquals("host-control", outcome(engine, FrameBuilder.tcp(PEER4, HOST4, 40000, 179, 1, 0, TcpHeader.SYN,
            new byte[0], 0)), "BGP from a control peer");
        assertEquals("host-control", outcome(engine, FrameBuilder.tcp(PEER6, HOST6, 179, 40000, 1, 2, TcpHeader.ACK,
            new byte[0], 19)), "BGP over IPv6 from a control peer");
        assertEquals("host-other", outcome(engine, FrameBuilder.tcp(STRANGER, HOST4, 40000, 22, 1, 0, TcpHeader.SYN,
            new byte[0], 0)), "SSH to the host from elsewhere");
        assertEquals("host-other", outcome(engine, ipv4(STRANGER, HOST4, 1)), "ping to the host");
        assertEquals("host-other", outcome(engine, FrameBuilder.tcp(IpAddress.parse("2001:db8::5"),
            IpAddress.parse("fe80::1"), 40000, 22, 1, 0, TcpHeader.SYN, new byte[0], 0)), "to a link-local address");
        final EngineCounters c = engine.counters();
        assertEquals(4, c.get(EngineCounters.TO_HOST_CONTROL));
        assertEquals(3, c.get(EngineCounters.TO_HOST_OTHER));
        assertEquals(0, c.get(EngineCounters.DROPPED));
    }

    @Test
    void nothingForAVipEverReachesTheHostAndOtherTrafficOnlyWhenPassed() {
        final PacketEngine engine = engine(false);
        assertEquals("drop-not-vip", outcome(engine, FrameBuilder.tcp(STRANGER, VIP4, 40000, 22, 1, 0, TcpHeader.SYN,
            new byte[0], 0)), "TCP to a VIP address on a port it does not serve");
        assertEquals("drop-not-tcp", outcome(engine, ipv4(STRANGER, VIP4, 17)), "UDP to a VIP address");
        assertEquals("drop-not-tcp", outcome(engine, ipv4(STRANGER, IpAddress.parse("203.0.113.1"), 17)),
            "UDP to an encapsulation source");
        assertEquals("drop-not-tcp", outcome(engine, ipv4(STRANGER, IpAddress.parse("10.9.9.9"), 17)),
            "UDP to an address that is no one's here");
        final PacketEngine passing = engine(true);
        assertEquals("host-other", outcome(passing, ipv4(STRANGER, IpAddress.parse("10.9.9.9"), 17)));
        assertEquals("drop-not-vip", outcome(passing, FrameBuilder.tcp(STRANGER, VIP4, 40000, 22, 1, 0,
            TcpHeader.SYN, new byte[0], 0)), "passing other traffic still never passes a VIP's");
        assertEquals("verdict-" + Verdict.TX_CLIENT, outcome(passing, FrameBuilder.tcp(STRANGER, VIP4, 40000, 80, 1,
            0, TcpHeader.SYN, FrameBuilder.linuxSynOptions(1460, 1, 7), 0)), "a SYN to the VIP is answered as ever");
    }

    @Test
    void withoutAHostPathTheSameFramesAreDroppedAsBefore() {
        final PacketEngine engine = TestSupport.engine(TestSupport.config(dir, TestSupport.BASE_CONFIG),
            TestSupport.FIXTURE_MILLIS);
        assertEquals("drop-arp-ignored", outcome(engine, arpRequest(PEER4, HOST4)));
        assertEquals("drop-not-vip", outcome(engine, FrameBuilder.tcp(PEER4, HOST4, 40000, 179, 1, 0, TcpHeader.SYN,
            new byte[0], 0)));
    }

    @Test
    void aBackendWhoseNextHopIsUnresolvedIsDroppedAndCountedUntilItsMacArrives() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG.replace(
            "next_hop_mac = \"02:00:00:00:00:fe\"", "next_hop = \"203.0.113.254\""));
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final BackendTable table = BackendTable.of(config, TestSupport.keys(config));
        final byte[] data = FrameBuilder.tcp(STRANGER, VIP4, 40000, 80, 1, 2, TcpHeader.ACK, new byte[0], 10);
        assertEquals("drop-next-hop-unresolved", outcome(engine, data));
        engine.applyBackends(table.withResolvedMacs(Map.of("203.0.113.11", 0x02000000abcdL, "203.0.113.12",
            0x02000000abcdL)));
        try (TestBurst burst = new TestBurst(List.of(data)).run(engine, TestSupport.FIXTURE_MILLIS)) {
            assertEquals(Verdict.TX_BACKEND, burst.verdict(0));
            assertEquals(0x02000000abcdL, ByteBuffer.wrap(burst.output(0)).getLong(0) >>> 16,
                "the outer destination is the resolved next hop");
        }
        engine.applyBackends(table.withResolvedMacs(Map.of()));
        assertEquals("drop-next-hop-unresolved", outcome(engine, data), "a next hop that lost its MAC");
        assertEquals(2, engine.counters().dropped(DropReason.NEXT_HOP_UNRESOLVED));
    }
}
