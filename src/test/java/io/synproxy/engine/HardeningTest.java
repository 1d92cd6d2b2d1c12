package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The review's findings, each through the engine: clock skew, path MTU, martians, TSecr, Maglev order, flow hash. */
class HardeningTest {
    private static final IpAddress VIP4 = IpAddress.parse("198.51.100.10");
    private static final IpAddress VIP6 = IpAddress.parse("2001:db8:100::10");
    private static final String FOUR_BACKENDS = TestSupport.BASE_CONFIG + """

        [[backend]]
        address = "203.0.113.13"

        [[backend]]
        address = "203.0.113.14"
        """;

    @TempDir
    Path dir;

    private static int u32(final byte[] frame, final int at) {
        return ByteBuffer.wrap(frame).getInt(at);
    }

    private static String outerDestination(final byte[] encapsulated) {
        return (encapsulated[30] & 0xff) + "." + (encapsulated[31] & 0xff) + "." + (encapsulated[32] & 0xff) + "."
            + (encapsulated[33] & 0xff);
    }

    private static int flags(final byte[] encapsulated) {
        return ((encapsulated[44] & 0xff) << 8) | (encapsulated[45] & 0xff);
    }

    /** A client's SYN through one engine, its handshake ACK (echoing our TSval) built from the SYN-ACK. */
    private static byte[] handshakeAck(final PacketEngine issuer, final IpAddress client, final int port,
                                       final boolean timestamps) {
        final int isn = 0x11223344 + port;
        final byte[] syn = FrameBuilder.tcp(client, VIP4, port, 80, isn, 0, TcpHeader.SYN,
            timestamps ? FrameBuilder.linuxSynOptions(1460, 777, 7) : new byte[] {2, 4, 5, (byte) 0xb4}, 0);
        final byte[] synAck;
        try (TestBurst burst = new TestBurst(List.of(syn)).run(issuer, 0)) {
            assertEquals(Verdict.TX_CLIENT, burst.verdict(0), burst.reason(0).toString());
            synAck = burst.output(0);
        }
        final int cookie = u32(synAck, 14 + 20 + 4);
        final byte[] options = timestamps ? FrameBuilder.timestampOptions(778, u32(synAck, 14 + 20 + 20 + 8))
            : new byte[0];
        return FrameBuilder.tcp(client, VIP4, port, 80, isn + 1, cookie + 1, TcpHeader.ACK, options, 0);
    }

    private static byte[] one(final PacketEngine engine, final byte[] frame, final int verdict) {
        try (TestBurst burst = new TestBurst(List.of(frame)).run(engine, 0)) {
            assertEquals(verdict, burst.verdict(0), burst.reason(0).toString());
            return burst.output(0);
        }
    }

    // 3. Clock skew.
    @Test
    void twoEnginesWhoseClocksAre30MsApartAcceptEachOthersCookiesAroundABoundary() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final SaltSchedule schedule = TestSupport.keys(config).saltSchedule(config);
        final long boundary = schedule.epochStartMillis(schedule.epochAt(TestSupport.FIXTURE_MILLIS) + 1);
        final PacketEngine ahead = TestSupport.engine(config, boundary + 20);
        final PacketEngine behind = TestSupport.engine(config, boundary - 10);
        for (int port = 40000; port < 40064; port++) {
            final IpAddress client = IpAddress.parse("192.0.2." + (port & 0x7f));
            final byte[] fromAhead = one(behind, handshakeAck(ahead, client, port, port % 2 == 0),
                Verdict.TX_BACKEND);
            assertEquals(0x9000 | (int) (ahead.salts().epoch() & 0xff) << 4 | 7, flags(fromAhead),
                "issued 20 ms into the epoch by A, validated 10 ms before it by B: marked, with A's epoch");
            final byte[] fromBehind = one(ahead, handshakeAck(behind, client, port, port % 2 == 0),
                Verdict.TX_BACKEND);
            assertEquals(0x9000 | (int) (behind.salts().epoch() & 0xff) << 4 | 7, flags(fromBehind),
                "issued by B before the boundary, validated by A after it");
        }
        assertEquals(128, behind.counters().get(EngineCounters.ACKS_VALID) + ahead.counters()
            .get(EngineCounters.ACKS_VALID));

        // With a 1 s grace the previous epoch is closed 10 ms before the boundary: the next epoch's key alone.
        final ProxyConfig shortGrace = TestSupport.config(dir, TestSupport.BASE_CONFIG.replace("grace_seconds = 60",
            "grace_seconds = 1"));
        final PacketEngine shortAhead = TestSupport.engine(shortGrace, boundary + 20);
        final PacketEngine shortBehind = TestSupport.engine(shortGrace, boundary - 10);
        assertEquals(false, shortBehind.salts().previousValid());
        for (int port = 40000; port < 40040; port++) {
            final byte[] out = one(shortBehind, handshakeAck(shortAhead, IpAddress.parse("192.0.2.9"), port, true),
                Verdict.TX_BACKEND);
            assertEquals(0x9000 | (int) (shortAhead.salts().epoch() & 0xff) << 4 | 7, flags(out), "port " + port);
        }

        // The same pair without a skew bound: B refuses A's cookies (the bug).
        final ProxyConfig exact = TestSupport.config(dir, TestSupport.BASE_CONFIG.replace("grace_seconds = 60",
            "grace_seconds = 60\nmax_clock_skew_ms = 0"));
        final PacketEngine exactAhead = TestSupport.engine(exact, boundary + 20);
        final PacketEngine exactBehind = TestSupport.engine(exact, boundary - 10);
        final byte[] refused = one(exactBehind, handshakeAck(exactAhead, IpAddress.parse("192.0.2.1"), 40000, true),
            Verdict.TX_BACKEND);
        assertEquals(0x1000, flags(refused), "not validated: forwarded unmarked");
    }

    /**
     * A cookie secret rotated across two nodes: while one issues under the new secret and the other still under the
     * old, each accepts both (the overlap); a node holding one secret refuses the other's cookies; the flow hash
     * stays the one pinned, so no flow moves.
     */
    @Test
    void duringAKeyRotationEachNodeAcceptsTheOthersCookies() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final ProxyKeys old = TestSupport.keys(config);
        final byte[] next = new byte[32];
        java.util.Arrays.fill(next, (byte) 0x5a);
        final ProxyKeys promoted = new ProxyKeys(next, old.masterSecret(), old.authKey(), null, old.flowSeed(),
            old.flowHash());
        final ProxyKeys added = old.withAcceptedSecret(next);
        final ProxyKeys newOnly = new ProxyKeys(next, null, old.authKey(), null, old.flowSeed(), old.flowHash());
        final long now = TestSupport.FIXTURE_MILLIS;
        final PacketEngine a = engine(config, promoted, now);  // promoted: issues under the new secret
        final PacketEngine b = engine(config, added, now);     // not yet: issues under the old, accepts the new
        final PacketEngine c = engine(config, newOnly, now);   // after the overlap: the new secret alone
        final PacketEngine d = engine(config, old, now);       // never told of the new secret
        for (int port = 40000; port < 40040; port++) {
            final IpAddress client = IpAddress.parse("192.0.2." + (port & 0x7f));
            assertTrue((flags(one(b, handshakeAck(a, client, port, port % 2 == 0), Verdict.TX_BACKEND)) & 0x8000) != 0,
                "issued by A under the new secret, validated by B (old issued, new accepted)");
            assertTrue((flags(one(a, handshakeAck(b, client, port, port % 2 == 0), Verdict.TX_BACKEND)) & 0x8000) != 0,
                "issued by B under the old secret, validated by A (new issued, old accepted)");
            assertTrue((flags(one(c, handshakeAck(a, client, port, true), Verdict.TX_BACKEND)) & 0x8000) != 0,
                "the new secret alone validates the new secret's cookies");
            assertEquals(0x1000, flags(one(c, handshakeAck(b, client, port, true), Verdict.TX_BACKEND)),
                "after the overlap the old secret's cookies no longer validate");
            assertEquals(0x1000, flags(one(d, handshakeAck(a, client, port, true), Verdict.TX_BACKEND)),
                "a node without the new secret refuses its cookies");
        }
        assertEquals(80, a.counters().get(EngineCounters.ACKS_VALID) + b.counters().get(EngineCounters.ACKS_VALID));
    }

    private static PacketEngine engine(final ProxyConfig config, final ProxyKeys keys, final long millis) {
        return new PacketEngine(config, keys, keys.saltSchedule(config).snapshotAt(millis),
            io.synproxy.engine.BackendTable.of(config, keys));
    }

    /** The end-to-end rotation phase's timing: SYN 3.5 s into a 4 s epoch, the ACK validated 0.8 s into the next. */
    @Test
    void aHandshakeSpanningARotationWithAShortPeriod() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG
            .replace("salt_period_seconds = 60", "salt_period_seconds = 4")
            .replace("grace_seconds = 60", "grace_seconds = 4"));
        final SaltSchedule schedule = TestSupport.keys(config).saltSchedule(config);
        final long start = schedule.epochStartMillis(schedule.epochAt(TestSupport.FIXTURE_MILLIS));
        final PacketEngine a = TestSupport.engine(config, start + 3500);
        final PacketEngine b = TestSupport.engine(config, start + 4800);
        final byte[] out = one(b, handshakeAck(a, IpAddress.parse("192.0.2.1"), 40000, true), Verdict.TX_BACKEND);
        assertEquals(0x9000 | (int) (a.salts().epoch() & 0xff) << 4 | 7, flags(out));
    }

    // 15. The TSecr is part of the MAC.
    @Test
    void aHandshakeAckWithAFlippedTsEchoIsNotValidated() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        for (int bit = 0; bit < 32; bit++) {
            final byte[] ack = handshakeAck(engine, IpAddress.parse("192.0.2.7"), 41000 + bit, true);
            final byte[] forged = ack.clone();
            final int echoAt = 14 + 20 + 20 + 8;
            ByteBuffer.wrap(forged).putInt(echoAt, u32(ack, echoAt) ^ (1 << bit));
            final MemorySegment m = MemorySegment.ofArray(forged);
            fixTcpChecksum(m, forged);
            assertEquals(0x1000, flags(one(engine, forged, Verdict.TX_BACKEND)), "TSecr bit " + bit + " flipped");
            assertTrue((flags(one(engine, ack, Verdict.TX_BACKEND)) & 0x8000) != 0, "the genuine ACK");
        }
        assertEquals(32, engine.counters().get(EngineCounters.ACKS_VALID));
        assertEquals(32, engine.counters().get(EngineCounters.ACKS_NOT_VALIDATED));
    }

    private static void fixTcpChecksum(final MemorySegment m, final byte[] frame) {
        final int tcp = 14 + 20;
        final int segment = frame.length - tcp;
        ByteBuffer.wrap(frame).putShort(tcp + 16, (short) 0);
        final long pseudo = Checksum.sum(m, 14 + 12, 8) + 6 + segment;
        ByteBuffer.wrap(frame).putShort(tcp + 16, (short) Checksum.finish(pseudo + Checksum.sum(m, tcp, segment)));
    }

    // 1. Path MTU discovery.
    @Test
    void fragmentationNeededGoesToTheBackendOfTheQuotedFlow() {
        final ProxyConfig config = TestSupport.config(dir, FOUR_BACKENDS);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final java.util.Set<String> backends = new java.util.HashSet<>();
        for (int port = 42000; port < 42064; port++) {
            final IpAddress client = IpAddress.parse("192.0.2." + (port & 0x3f));
            final byte[] data = FrameBuilder.tcp(client, VIP4, port, 80, 1, 2, TcpHeader.ACK | TcpHeader.PSH,
                new byte[0], 100);
            final String flowBackend = outerDestination(one(engine, data, Verdict.TX_BACKEND));
            final byte[] icmp = one(engine, fragmentationNeeded(client, port, 1400), Verdict.TX_BACKEND);
            assertEquals(flowBackend, outerDestination(icmp), "port " + port + ": the flow's own backend");
            assertEquals(0x1000, flags(icmp), "unmarked");
            assertEquals(1, icmp[58 + 9], "the inner packet is the ICMP message, untouched");
            backends.add(flowBackend);
        }
        assertEquals(4, backends.size(), "the flows were spread, so matching is no accident");
        assertEquals(64, engine.counters().get(EngineCounters.ICMP_FORWARDED));

        final byte[] truncated = fragmentationNeeded(IpAddress.parse("192.0.2.1"), 42000, 1400);
        final byte[] cut = java.util.Arrays.copyOf(truncated, 14 + 20 + 8 + 20 + 4);
        setIpv4TotalLength(cut, cut.length - 14);
        assertEquals(DropReason.ICMP_IGNORED, dropped(engine, cut), "quoted TCP header cut short");
        final byte[] notOurs = fragmentationNeeded(IpAddress.parse("192.0.2.1"), 42000, 1400);
        notOurs[14 + 20 + 8 + 12 + 3] ^= 1; // the quoted source: no longer the VIP
        assertEquals(DropReason.ICMP_IGNORED, dropped(engine, notOurs), "quotes a packet that is not from a VIP");
        final byte[] echo = fragmentationNeeded(IpAddress.parse("192.0.2.1"), 42000, 1400);
        echo[14 + 20] = 8;
        assertEquals(DropReason.ICMP_IGNORED, dropped(engine, echo), "an echo request to the VIP");
    }

    @Test
    void packetTooBigGoesToTheBackendOfTheQuotedFlow() {
        final ProxyConfig config = TestSupport.config(dir, FOUR_BACKENDS);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final java.util.Set<String> backends = new java.util.HashSet<>();
        for (int port = 43000; port < 43064; port++) {
            final IpAddress client = IpAddress.parse("2001:db8::" + Integer.toHexString(port));
            final byte[] data = FrameBuilder.tcp(client, VIP6, port, 80, 1, 2, TcpHeader.ACK, new byte[0], 100);
            final String flowBackend = outerDestination(one(engine, data, Verdict.TX_BACKEND));
            final byte[] icmp = one(engine, packetTooBig(client, port, 1280), Verdict.TX_BACKEND);
            assertEquals(flowBackend, outerDestination(icmp), "port " + port + ": the flow's own backend");
            assertEquals(0x1000, flags(icmp));
            backends.add(flowBackend);
        }
        assertEquals(4, backends.size());
        assertEquals(64, engine.counters().get(EngineCounters.ICMP_FORWARDED));
        final byte[] cut = java.util.Arrays.copyOf(packetTooBig(IpAddress.parse("2001:db8::1"), 43000, 1280),
            14 + 40 + 8 + 40 + 4);
        ByteBuffer.wrap(cut).putShort(14 + 4, (short) (cut.length - 14 - 40));
        assertEquals(DropReason.ICMP_IGNORED, dropped(engine, cut));
    }

    private static DropReason dropped(final PacketEngine engine, final byte[] frame) {
        try (TestBurst burst = new TestBurst(List.of(frame)).run(engine, 0)) {
            assertEquals(Verdict.DROP, burst.verdict(0));
            return burst.reason(0);
        }
    }

    private static void setIpv4TotalLength(final byte[] frame, final int length) {
        final MemorySegment m = MemorySegment.ofArray(frame);
        ByteBuffer.wrap(frame).putShort(14 + 2, (short) length).putShort(14 + 10, (short) 0);
        ByteBuffer.wrap(frame).putShort(14 + 10, (short) Checksum.finish(Checksum.sum(m, 14, 20)));
    }

    /** A router's "fragmentation needed" about a backend's reply VIP:80 -> client:port. */
    static byte[] fragmentationNeeded(final IpAddress client, final int port, final int mtu) {
        final int icmpLength = 8 + 20 + 8;
        final byte[] frame = new byte[14 + 20 + icmpLength];
        final MemorySegment m = MemorySegment.ofArray(frame);
        EthernetHeader.write(m, 0, FrameBuilder.PROXY_MAC, 0x0200000000feL, EthernetHeader.ETHER_TYPE_IPV4);
        Ipv4Header.write(m, 14, 0, 20 + icmpLength, 64, Ipv4Header.PROTOCOL_ICMP,
            IpAddress.parse("192.0.2.254").v4(), VIP4.v4());
        final int icmp = 14 + 20;
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.put(icmp, (byte) 3).put(icmp + 1, (byte) 4).putShort(icmp + 6, (short) mtu);
        Ipv4Header.write(m, icmp + 8, 0, 1500, 64, Ipv4Header.PROTOCOL_TCP, VIP4.v4(), client.v4());
        b.putShort(icmp + 28, (short) 80).putShort(icmp + 30, (short) port).putInt(icmp + 32, 0x55667788);
        b.putShort(icmp + 2, (short) Checksum.finish(Checksum.sum(m, icmp, icmpLength)));
        return frame;
    }

    /** A router's "packet too big" about a backend's reply [VIP6]:80 -> [client]:port. */
    static byte[] packetTooBig(final IpAddress client, final int port, final int mtu) {
        final int icmpLength = 8 + 40 + 8;
        final byte[] frame = new byte[14 + 40 + icmpLength];
        final MemorySegment m = MemorySegment.ofArray(frame);
        final IpAddress router = IpAddress.parse("2001:db8::fe");
        EthernetHeader.write(m, 0, FrameBuilder.PROXY_MAC, 0x0200000000feL, EthernetHeader.ETHER_TYPE_IPV6);
        Ipv6Header.write(m, 14, 0, 0, icmpLength, 58, 64, router.high(), router.low(), VIP6.high(), VIP6.low());
        final int icmp = 14 + 40;
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.put(icmp, (byte) 2).putInt(icmp + 4, mtu);
        Ipv6Header.write(m, icmp + 8, 0, 0, 1440, Ipv6Header.NEXT_TCP, 64, VIP6.high(), VIP6.low(), client.high(),
            client.low());
        b.putShort(icmp + 48, (short) 80).putShort(icmp + 50, (short) port).putInt(icmp + 52, 0x55667788);
        final long pseudo = Checksum.sum(m, 14 + 8, 32) + 58 + icmpLength;
        b.putShort(icmp + 2, (short) Checksum.finish(pseudo + Checksum.sum(m, icmp, icmpLength)));
        return frame;
    }

    // 8. Martian sources.
    @Test
    void synsFromMartianSourcesAreDroppedNotAnswered() {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final List<byte[]> syns = new ArrayList<>();
        for (final String source : List.of("0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.2.3", "240.0.0.1",
            "255.255.255.255", "198.51.100.10", "203.0.113.1")) {
            syns.add(FrameBuilder.tcp(IpAddress.parse(source), VIP4, 40000, 80, 1, 0, TcpHeader.SYN, new byte[0], 0));
        }
        for (final String source : List.of("::", "::1", "ff02::1", "ff0e::5", "::ffff:192.0.2.1",
            "2001:db8:100::10", "2001:db8:200::1")) {
            syns.add(FrameBuilder.tcp(IpAddress.parse(source), VIP6, 40000, 80, 1, 0, TcpHeader.SYN, new byte[0], 0));
        }
        final byte[] genuine = FrameBuilder.tcp(IpAddress.parse("192.0.2.1"), VIP4, 40000, 80, 1, 0, TcpHeader.SYN,
            new byte[0], 0);
        syns.add(genuine);
        try (TestBurst burst = new TestBurst(syns).run(engine, 0)) {
            for (int i = 0; i < syns.size() - 1; i++) {
                assertEquals(DropReason.MARTIAN_SOURCE, burst.reason(i), "frame " + i);
            }
            assertEquals(Verdict.TX_CLIENT, burst.verdict(syns.size() - 1), "a real client is still answered");
        }
        assertEquals(syns.size() - 1, engine.counters().dropped(DropReason.MARTIAN_SOURCE));
    }

    @Test
    void arpRequestsFromMartianSendersAreNotAnswered() throws Exception {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        engine.setMacs(FrameBuilder.PROXY_MAC, -1);
        final byte[] request = GoldenFixtureTest.first("arp_request_vip").data();
        final List<byte[]> frames = new ArrayList<>();
        for (final String sender : List.of("0.0.0.0", "127.0.0.1", "224.0.0.5", "198.51.100.10")) {
            final byte[] frame = request.clone();
            System.arraycopy(java.net.InetAddress.getByName(sender).getAddress(), 0, frame, 14 + 14, 4);
            frames.add(frame);
        }
        frames.add(request);
        try (TestBurst burst = new TestBurst(frames).run(engine, 0)) {
            for (int i = 0; i < 4; i++) {
                assertEquals(DropReason.MARTIAN_SOURCE, burst.reason(i), "sender " + i);
            }
            assertEquals(Verdict.TX_CLIENT, burst.verdict(4), "a real neighbour is answered: " + burst.reason(4));
        }
    }

    // 4. Maglev from a canonical order.
    @Test
    void theBackendTableIsTheSameWhateverOrderTheBackendsAreListedIn() {
        final List<String> addresses = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            addresses.add("203.0.113." + (10 + i));
        }
        addresses.add("2001:db8:300::1");
        addresses.add("2001:db8:300::2");
        final ProxyKeys keys = TestSupport.keys(TestSupport.config(dir, TestSupport.BASE_CONFIG));
        BackendTable first = null;
        final Random random = new Random(7);
        for (int round = 0; round < 6; round++) {
            Collections.shuffle(addresses, random);
            final StringBuilder toml = new StringBuilder(TestSupport.BASE_CONFIG.substring(0,
                TestSupport.BASE_CONFIG.indexOf("[[backend]]")));
            for (final String a : addresses) {
                toml.append("[[backend]]\naddress = \"").append(a).append("\"\n\n");
            }
            final ProxyConfig config = TestSupport.config(dir, toml.toString());
            final BackendTable table = BackendTable.of(config, keys);
            if (first == null) {
                first = table;
                continue;
            }
            for (long h = 0; h < 65537L * 4; h++) {
                final long hash = (h * 0x9e3779b97f4a7c15L);
                for (final boolean v6 : new boolean[] {false, true}) {
                    assertEquals(first.address(first.lookup(hash, v6)), table.address(table.lookup(hash, v6)),
                        "round " + round + ": hash " + hash);
                }
            }
        }
    }

    // 12. The flow hash has no structure a client could use.
    @Test
    void flowsThatCancelledUnderTheXorFoldNoLongerCollide() {
        final FlowHash hash = FlowHash.fromSecret(new byte[32]);
        final Random random = new Random(8);
        int collisions = 0;
        for (int i = 0; i < 100_000; i++) {
            // The old fold: a0 ^ rotl(a1, 17) ^ ... : flipping bit k of a0 and bit k - 17 of a1 cancelled out.
            final long a0 = random.nextLong();
            final long a1 = random.nextLong();
            final int k = 17 + random.nextInt(47);
            final long h1 = hash.v6(a0, a1, 5, 6, 0x50001234);
            final long h2 = hash.v6(a0 ^ (1L << k), a1 ^ (1L << (k - 17)), 5, 6, 0x50001234);
            collisions += (h1 >>> 32) == (h2 >>> 32) ? 1 : 0;
        }
        assertEquals(0, collisions, "top 32 bits collide with probability 2^-32 per pair");
        // Every input bit moves the top 32 bits.
        final long base = hash.v4(0x0a000001c0a80001L, 0x50005000);
        for (int bit = 0; bit < 64; bit++) {
            assertNotEquals(base >>> 32, hash.v4(0x0a000001c0a80001L ^ (1L << bit), 0x50005000) >>> 32, "bit " + bit);
        }
        for (int bit = 0; bit < 32; bit++) {
            assertNotEquals(base >>> 32, hash.v4(0x0a000001c0a80001L, 0x50005000 ^ (1 << bit)) >>> 32, "port " + bit);
        }
    }

    /** Salts for tests that need a snapshot by hand. */
    static SaltSnapshot salts(final ProxyConfig config, final long millis) {
        return TestSupport.keys(config).saltSchedule(config).snapshotAt(millis);
    }
}
