package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.synproxy.TestSupport;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.fuzz.FrameFuzzer;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.TcpHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TX checksum offload in the engine: with a port that computes checksums, what the engine leaves in each frame is
 * what DPDK's offload API wants (IPv4 header checksum 0, TCP checksum field = the pseudo-header sum, folded and not
 * complemented; the descriptor's request with the header lengths), and a port completing those checksums from the
 * request alone (as {@link #completeAsAPort} does, as a NIC does) yields exactly the bytes the engine sends without
 * offload. The checksums here are computed by a plain RFC 1071 loop of this test's own, not by the engine's code.
 */
class TxChecksumOffloadTest {
    private static final int IP = FrameDescriptors.TX_IP_CHECKSUM;
    private static final int TCP = FrameDescriptors.TX_TCP_CHECKSUM;
    /**
     * An RSS hash as a NIC leaves it in the word a frame going out reuses for its TX request. Without offload the
     * engine leaves it (the shim reads no such port's word); with offload it must never reach the port as a request.
     */
    private static final int RSS_HASH = 0x9e3779b9;

    @TempDir
    Path dir;

    private ProxyConfig config;
    private final List<byte[]> syns = new ArrayList<>();
    private final List<String> names = new ArrayList<>();

    @BeforeEach
    void fixtures() throws Exception {
        config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        // Every golden SYN: IPv4 and IPv6, with and without options, VLAN-tagged, IPv4 options and IPv6 extension
        // headers (neither carried over), data in the SYN, short SYN-ACKs padded to the Ethernet minimum.
        for (final GoldenFixtureTest.Syn syn : GoldenFixtureTest.SYNS) {
            syns.add(GoldenFixtureTest.first(syn.file()).data());
            names.add(syn.file());
        }
    }

    @Test
    void synAcksLeaveTheirChecksumsToThePortAndThePortsSumsGiveTheSameBytes() {
        final Run off = run(syns, 0, 0);
        final Run on = run(syns, IP | TCP, IP | TCP);
        for (int i = 0; i < syns.size(); i++) {
            final String what = names.get(i);
            assertEquals(Verdict.TX_CLIENT, on.verdict[i], what);
            assertEquals(RSS_HASH, off.request[i], what + ": without offload the word is not even written");
            final byte[] out = on.output.get(i);
            final int l2 = (out[12] & 0xff) == 0x81 ? 18 : 14;
            final boolean v6 = (out[l2] & 0xf0) == 0x60;
            final int l3 = v6 ? 40 : 20;
            final int tcpLength = ((out[l2 + l3 + 12] & 0xff) >>> 4) * 4;
            assertEquals(FrameDescriptors.txRequest(v6 ? TCP | FrameDescriptors.TX_IPV6 : IP | TCP, l2, l3,
                tcpLength), on.request[i], what + ": the request and its header lengths");
            if (!v6) {
                assertEquals(0, u16(out, l2 + 10), what + ": IPv4 header checksum left 0 for the port");
            }
            assertEquals(pseudoHeaderSum(out, l2, v6), u16(out, l2 + l3 + 16),
                what + ": TCP checksum field = the pseudo-header sum, folded, not complemented");
            assertArrayEquals(off.output.get(i), completeAsAPort(out, on.request[i]),
                what + ": the port's checksums give the bytes of the software ones");
        }
    }

    @Test
    void aPortWithOnlyOneOfTheTwoOffloadsGetsAskedForThatOneOnly() {
        final Run off = run(syns, 0, 0);
        for (final int offered : new int[] {IP, TCP}) {
            final Run on = run(syns, offered, offered);
            for (int i = 0; i < syns.size(); i++) {
                final String what = names.get(i) + " with only " + (offered == IP ? "IPv4 header" : "TCP")
                    + " checksum offload";
                final byte[] out = on.output.get(i);
                final int l2 = (out[12] & 0xff) == 0x81 ? 18 : 14;
                final boolean v6 = (out[l2] & 0xf0) == 0x60;
                if (v6 && offered == IP) {
                    // IPv6 has no header checksum: nothing to ask for, every byte as without offload.
                    assertEquals(0, on.request[i], what);
                    assertArrayEquals(off.output.get(i), out, what);
                    continue;
                }
                assertEquals(offered | (v6 ? FrameDescriptors.TX_IPV6 : 0), on.request[i] & 0xff, what);
                if (offered == IP) {
                    // The TCP checksum is complete already: the port only fills the IPv4 header's.
                    assertEquals(u16(off.output.get(i), l2 + 20 + 16), u16(out, l2 + 20 + 16), what);
                    assertEquals(0, u16(out, l2 + 10), what);
                } else if (!v6) {
                    assertEquals(u16(off.output.get(i), l2 + 10), u16(out, l2 + 10), what + ": IPv4 header summed");
                }
                assertArrayEquals(off.output.get(i), completeAsAPort(out, on.request[i]), what);
            }
        }
    }

    @Test
    void encapsulatedAcksLeaveTheOuterIpv4HeaderChecksumToTheBackendPort() {
        final List<byte[]> acks = handshakeAcks();
        final Run off = run(acks, 0, 0);
        // Only the backend port's offload counts for encapsulated packets, and TCP offload has nothing to do there:
        // the inner packet is the client's, checksums and all, and the outer UDP checksum is 0.
        final Run on = run(acks, 0, IP | TCP);
        assertEquals(acks.size(), on.engine.counters().get(EngineCounters.ACKS_VALID), "handshake ACKs, validated");
        for (int i = 0; i < acks.size(); i++) {
            final String what = "ACK " + i;
            assertEquals(Verdict.TX_BACKEND, on.verdict[i], what);
            assertEquals(RSS_HASH, off.request[i], what);
            assertEquals(FrameDescriptors.txRequest(IP, 14, 20, 0), on.request[i], what);
            final byte[] out = on.output.get(i);
            assertEquals(0, u16(out, 14 + 10), what + ": outer IPv4 header checksum left 0 for the port");
            assertNotEquals(0, u16(off.output.get(i), 14 + 10), what);
            assertEquals(0, u16(out, 14 + 20 + 6), what + ": outer UDP checksum 0, as without offload");
            assertArrayEquals(off.output.get(i), completeAsAPort(out, on.request[i]), what);
        }
        // The receiving port's offloads change nothing on the way to the backends.
        final Run clientOnly = run(acks, IP | TCP, 0);
        for (int i = 0; i < acks.size(); i++) {
            assertEquals(RSS_HASH, clientOnly.request[i], "the backend port reads no request: none written");
            assertArrayEquals(off.output.get(i), clientOnly.output.get(i));
        }
    }

    @Test
    void anIpv6OuterHeaderHasNoChecksumToAskFor() {
        config = TestSupport.config(dir, TestSupport.BASE_CONFIG.replace("address = \"203.0.113.11\"",
            "address = \"2001:db8:200::11\"").replace("address = \"203.0.113.12\"", "address = \"2001:db8:200::12\""));
        final List<byte[]> acks = handshakeAcks();
        final Run off = run(acks, 0, 0);
        final Run on = run(acks, IP | TCP, IP | TCP);
        for (int i = 0; i < acks.size(); i++) {
            assertEquals(Verdict.TX_BACKEND, on.verdict[i]);
            assertEquals(0x86dd, u16(on.output.get(i), 12), "outer IPv6");
            assertEquals(0, on.request[i], "the backend port reads every request: this one asks for nothing");
            assertArrayEquals(off.output.get(i), on.output.get(i));
        }
    }

    @Test
    void neighbourRepliesNeverAskForOffload() throws Exception {
        final List<byte[]> requests = List.of(GoldenFixtureTest.first("arp_request_vip").data(),
            GoldenFixtureTest.first("ns_vip").data());
        final Run on = run(requests, IP | TCP, IP | TCP);
        for (int i = 0; i < requests.size(); i++) {
            assertEquals(Verdict.TX_CLIENT, on.verdict[i]);
            assertEquals(0, on.request[i], "ARP and ICMPv6 replies carry their own (or no) checksums");
        }
    }

    @Test
    void fuzzedFramesGiveTheSameBytesOnceThePortHasSummedThem() {
        // The deep fuzz's frames (every kind, one field mutated at a time, cut, random), through an engine without
        // offload and one whose ports offer both, side by side: the same verdict every time, and every frame sent
        // the same bytes once the port has done what its request asks. Backends of both families: outer IPv4
        // headers (offloaded) and IPv6 ones (nothing to offload).
        config = TestSupport.config(dir, TestSupport.BASE_CONFIG.replace("address = \"203.0.113.12\"",
            "address = \"2001:db8:200::11\""));
        final PacketEngine off = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final PacketEngine on = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        off.setMacs(FrameBuilder.PROXY_MAC, -1);
        on.setMacs(FrameBuilder.PROXY_MAC, -1);
        on.setTxChecksumOffload(IP | TCP, IP | TCP);
        final FrameFuzzer fuzzer = new FrameFuzzer(syn -> one(off, syn, 128, 128, 0).output);
        final SplittableRandom random = new SplittableRandom(11);
        final int[] sent = new int[3];
        for (int n = 0; n < 200_000; n++) {
            final byte[] frame = fuzzer.next(random);
            final int headroom = random.nextInt(3) == 0 ? random.nextInt(64) : 128;
            final int tailroom = random.nextInt(3) == 0 ? random.nextInt(64) : 128;
            final int rxFlags = random.nextInt(16) == 0
                ? FrameDescriptors.RX_IP_CHECKSUM_GOOD | FrameDescriptors.RX_L4_CHECKSUM_GOOD : 0;
            final One a = one(off, frame, headroom, tailroom, rxFlags);
            final One b = one(on, frame, headroom, tailroom, rxFlags);
            final String what = "frame " + n + " " + HexFormat.of().formatHex(frame);
            assertEquals(a.verdict, b.verdict, what);
            if (a.verdict == Verdict.TX_CLIENT || a.verdict == Verdict.TX_BACKEND) {
                assertEquals(RSS_HASH, a.request, what);
                assertNotEquals(RSS_HASH, b.request, what + ": a port that reads requests gets one written");
                assertArrayEquals(a.output, completeAsAPort(b.output, b.request), what);
                sent[b.request == 0 ? 0 : (b.request & TCP) != 0 ? 1 : 2]++;
            }
        }
        // Not vacuous: frames of each kind went out, with and without a request.
        assertNotEquals(0, sent[0], "frames sent without a request (neighbour replies, IPv6 outer headers)");
        assertNotEquals(0, sent[1], "SYN-ACKs with the TCP checksum left to the port");
        assertNotEquals(0, sent[2], "encapsulated packets with the outer IPv4 header checksum left to the port");
    }

    /** One frame's result: verdict, TX request, the frame as sent. */
    private record One(int verdict, int request, byte[] output) {
    }

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment area = arena.allocate(8192, 64);
    private final MemorySegment descriptor = arena.allocate(FrameDescriptors.SIZE, 8);

    /** One frame in memory of exactly headroom + frame + tailroom bytes, its descriptor's word holding an RSS hash. */
    private One one(final PacketEngine engine, final byte[] frame, final int headroom, final int tailroom,
                    final int rxFlags) {
        final MemorySegment buffer = area.asSlice(0, headroom + frame.length + tailroom);
        MemorySegment.copy(frame, 0, buffer, ValueLayout.JAVA_BYTE, headroom, frame.length);
        FrameDescriptors.setFrame(descriptor, 0, headroom, frame.length, headroom, tailroom, rxFlags);
        descriptor.set(ValueLayout.JAVA_INT_UNALIGNED, FrameDescriptors.RSS_HASH_OFFSET, RSS_HASH);
        engine.process(buffer, descriptor, 1, TestSupport.FIXTURE_MILLIS);
        final int verdict = FrameDescriptors.verdict(descriptor, 0);
        final boolean sent = verdict == Verdict.TX_CLIENT || verdict == Verdict.TX_BACKEND;
        return new One(verdict, sent ? FrameDescriptors.txOffload(descriptor, 0) : 0, sent
            ? buffer.asSlice(FrameDescriptors.address(descriptor, 0), FrameDescriptors.length(descriptor, 0))
                .toArray(ValueLayout.JAVA_BYTE) : null);
    }

    /** One handshake ACK per IPv4 and IPv6 client, answering the SYN-ACK the engine sends (cookie and TSval). */
    private List<byte[]> handshakeAcks() {
        final List<byte[]> out = new ArrayList<>();
        for (final String[] flow : new String[][] {{"192.0.2.7", "198.51.100.10"}, {"2001:db8::7", "2001:db8:100::10"},
            {"192.0.2.8", "198.51.100.10"}}) {
            final IpAddress client = IpAddress.parse(flow[0]);
            final IpAddress vip = IpAddress.parse(flow[1]);
            final int isn = 0x12345678 + out.size();
            final byte[] syn = FrameBuilder.tcp(client, vip, 40000 + out.size(), 80, isn, 0, TcpHeader.SYN,
                FrameBuilder.linuxSynOptions(1460, 1000, 7), 0);
            final byte[] synAck = run(List.of(syn), 0, 0).output.get(0);
            final int tcp = 14 + (client.v6() ? 40 : 20);
            final int cookie = ByteBuffer.wrap(synAck).getInt(tcp + 4);
            // Our SYN-ACK's options: MSS, SACK-permitted, timestamps (kind, length, TSval at 8), NOP, window scale.
            final int tsValue = ByteBuffer.wrap(synAck).getInt(tcp + 20 + 8);
            out.add(FrameBuilder.tcp(client, vip, 40000 + out.size(), 80, isn + 1, cookie + 1, TcpHeader.ACK,
                FrameBuilder.timestampOptions(1001, tsValue), 0));
        }
        return out;
    }

    /** What one burst through an engine with these ports' offloads left: verdicts, requests, frames. */
    private record Run(PacketEngine engine, int[] verdict, int[] request, List<byte[]> output) {
    }

    private Run run(final List<byte[]> frames, final int receivingPort, final int backendPort) {
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        // The port's MAC: ARP and neighbour solicitations for the VIP are answered with it.
        engine.setMacs(FrameBuilder.PROXY_MAC, -1);
        engine.setTxChecksumOffload(receivingPort, backendPort);
        try (TestBurst burst = new TestBurst(frames)) {
            for (int i = 0; i < frames.size(); i++) {
                burst.descriptors().set(ValueLayout.JAVA_INT_UNALIGNED,
                    (long) i * FrameDescriptors.SIZE + FrameDescriptors.RSS_HASH_OFFSET, RSS_HASH);
            }
            burst.run(engine, TestSupport.FIXTURE_MILLIS);
            final int[] verdicts = new int[frames.size()];
            final int[] requests = new int[frames.size()];
            final List<byte[]> out = new ArrayList<>();
            for (int i = 0; i < frames.size(); i++) {
                verdicts[i] = burst.verdict(i);
                requests[i] = FrameDescriptors.txOffload(burst.descriptors(), i);
                out.add(burst.output(i));
            }
            return new Run(engine, verdicts, requests, out);
        }
    }

    /**
     * The port's part, from the request alone as DPDK's offload API defines it: the IPv4 header's checksum over l3_len
     * bytes at l2_len; the TCP checksum over everything from l2_len + l3_len to the frame's end (Ethernet padding
     * included, as a NIC sums it: it is zeros), starting from the pseudo-header sum left in the field.
     */
    static byte[] completeAsAPort(final byte[] frame, final int request) {
        final byte[] out = frame.clone();
        final int l2 = (request >>> FrameDescriptors.TX_L2_SHIFT) & 0xff;
        final int l3 = (request >>> FrameDescriptors.TX_L3_SHIFT) & 0xff;
        if ((request & IP) != 0) {
            put16(out, l2 + 10, ~fold(sum(out, l2, l3)) & 0xffff);
        }
        if ((request & TCP) != 0) {
            final int tcp = l2 + l3;
            put16(out, tcp + 16, ~fold(sum(out, tcp, out.length - tcp)) & 0xffff);
        }
        return out;
    }

    /** rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum of the frame's IP header: addresses, protocol, TCP length. */
    private static int pseudoHeaderSum(final byte[] frame, final int l2, final boolean v6) {
        if (v6) {
            return fold(sum(frame, l2 + 8, 32) + 6 + u16(frame, l2 + 4));
        }
        final int ihl = (frame[l2] & 0x0f) * 4;
        return fold(sum(frame, l2 + 12, 8) + 6 + u16(frame, l2 + 2) - ihl);
    }

    private static long sum(final byte[] b, final int from, final int length) {
        long s = 0;
        for (int i = 0; i < length; i += 2) {
            s += ((b[from + i] & 0xff) << 8) | (i + 1 < length ? b[from + i + 1] & 0xff : 0);
        }
        return s;
    }

    private static int fold(final long sum) {
        long s = sum;
        while (s >>> 16 != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    private static int u16(final byte[] b, final int at) {
        return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
    }

    private static void put16(final byte[] b, final int at, final int value) {
        b[at] = (byte) (value >>> 8);
        b[at + 1] = (byte) value;
    }
}
