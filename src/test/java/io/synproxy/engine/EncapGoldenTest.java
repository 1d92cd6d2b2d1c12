package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.Tshark;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SipHash;
import io.synproxy.pcap.PcapReader;
import io.synproxy.pcap.PcapWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ACK path with clients played by scapy: our SYN-ACKs for every fixture SYN, the clients' handshake ACKs (and a
 * forged twin of each) built by scripts/fixtures/make_acks.py, then the encapsulated packets checked byte by byte
 * against the documented wire format, the authenticator recomputed with the reference SipHash, and the outer headers
 * checked by tshark.
 */
class EncapGoldenTest {
    @TempDir
    Path dir;

    private ProxyConfig config;
    private List<byte[]> acks;

    @BeforeEach
    void clientsAnswerOurSynAcks() throws Exception {
        config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final List<byte[]> syns = new ArrayList<>();
        for (final GoldenFixtureTest.Syn syn : GoldenFixtureTest.SYNS) {
            syns.add(GoldenFixtureTest.first(syn.file()).data());
        }
        final Path synAcks = dir.resolve("synacks.pcap");
        try (TestBurst burst = new TestBurst(syns).run(TestSupport.engine(config, TestSupport.FIXTURE_MILLIS),
                TestSupport.FIXTURE_MILLIS);
             PcapWriter writer = new PcapWriter(synAcks)) {
            for (int i = 0; i < syns.size(); i++) {
                writer.write(TestSupport.FIXTURE_MILLIS * 1_000_000L, burst.output(i));
            }
        }
        final Path ackFile = dir.resolve("acks.pcap");
        final Process scapy = new ProcessBuilder("/usr/bin/python3", "scripts/fixtures/make_acks.py",
            synAcks.toString(), ackFile.toString()).redirectErrorStream(true).start();
        final String log = new String(scapy.getInputStream().readAllBytes());
        assertTrue(scapy.waitFor(120, TimeUnit.SECONDS) && scapy.exitValue() == 0, "make_acks.py failed: " + log);
        acks = new ArrayList<>();
        try (PcapReader reader = new PcapReader(ackFile)) {
            for (PcapReader.Frame f = reader.next(); f != null; f = reader.next()) {
                acks.add(f.data());
            }
        }
        // A handshake ACK and its forged twin per SYN-ACK, then one ACK for a flow never seen.
        assertEquals(2 * syns.size() + 1, acks.size());
    }

    @Test
    void handshakeAcksAreMarkedAuthenticatedAndCarriedWhole() throws Exception {
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final long epoch = engine.salts().epoch();
        final Path out = dir.resolve("encap.pcap");
        try (TestBurst burst = new TestBurst(acks).run(engine, TestSupport.FIXTURE_MILLIS);
             PcapWriter writer = new PcapWriter(out)) {
            for (int i = 0; i < acks.size(); i++) {
                assertEquals(Verdict.TX_BACKEND, burst.verdict(i), "frame " + i + ": " + burst.reason(i));
                final boolean handshake = i < acks.size() - 1 && i % 2 == 0;
                final byte[] in = acks.get(i);
                final byte[] o = burst.output(i);
                writer.write(0, o);
                final ByteBuffer b = ByteBuffer.wrap(o);
                final int l3 = (in[12] & 0xff) == 0x81 ? 18 : 14;
                final boolean innerV6 = (in[l3] & 0xf0) == 0x60;
                final int innerLength = innerV6 ? 40 + (((in[l3 + 4] & 0xff) << 8) | (in[l3 + 5] & 0xff))
                    : ((in[l3 + 2] & 0xff) << 8) | (in[l3 + 3] & 0xff);
                final String where = "frame " + i + (handshake ? " (handshake)" : " (forged or unknown)");
                // Outer Ethernet: to the backend's next hop, from the MAC the client addressed.
                assertEquals(0x02000000_00feL, b.getLong(0) >>> 16, where);
                assertEquals(0x02000000_0002L, (b.getLong(6) >>> 16), where);
                assertEquals(0x0800, b.getShort(12) & 0xffff, where);
                // Outer IPv4: proxy's source, a configured backend, UDP, the length of all that follows.
                assertEquals(0x45, o[14] & 0xff, where);
                assertEquals(20 + 8 + 16 + innerLength, b.getShort(16) & 0xffff, where);
                assertEquals(17, o[23], where);
                assertEquals("203.0.113.1", ip4(o, 26), where);
                final String backend = ip4(o, 30);
                assertTrue(backend.equals("203.0.113.11") || backend.equals("203.0.113.12"), where + backend);
                // UDP: ephemeral source port, the encapsulation port, length, no checksum.
                assertTrue((b.getShort(34) & 0xffff) >= 0xc000, where);
                assertEquals(6080, b.getShort(36) & 0xffff, where);
                assertEquals(8 + 16 + innerLength, b.getShort(38) & 0xffff, where);
                // Our header, version 1: H, version, the cookie's epoch, our window scale; the client's MSS.
                assertEquals(0x03, o[42], where);
                assertEquals(innerV6 ? 41 : 4, o[43], where);
                assertEquals(handshake ? 0x8000 | 0x1000 | (int) (epoch & 0xff) << 4 | 7 : 0x1000,
                    b.getShort(44) & 0xffff, where + ": flags");
                final GoldenFixtureTest.Syn syn = GoldenFixtureTest.SYNS.get(Math.min(i / 2,
                    GoldenFixtureTest.SYNS.size() - 1));
                final int mss = (innerV6 ? config.cookie().mssV6() : config.cookie().mssV4())[syn.mssIndex()];
                assertEquals(handshake ? mss : 0, b.getShort(46) & 0xffff, where + ": client MSS");
                assertEquals(0, b.getShort(48), where + ": reserved");
                assertEquals(authenticator(backendKey(backend), o, 58, innerV6), b.getLong(50),
                    where + ": authenticator under " + backend + "'s own key");
                // The client's IP packet, untouched.
                assertArrayEquals(Arrays.copyOfRange(in, l3, l3 + innerLength), Arrays.copyOfRange(o, 58, o.length),
                    where + ": inner packet");
                if (handshake) {
                    // The forged twin of this flow goes to the same backend.
                    assertEquals(backend, ip4(burst.output(i + 1), 30), where + ": same flow, same backend");
                }
            }
        }
        final int flows = GoldenFixtureTest.SYNS.size();
        assertEquals(flows, engine.counters().get(EngineCounters.ACKS_VALID));
        assertEquals(flows + 1, engine.counters().get(EngineCounters.ACKS_NOT_VALIDATED));
        for (final String[] row : Tshark.fields(out, "ip.checksum.status", "udp.dstport", "_ws.malformed")) {
            assertEquals("1", row[0], "outer IPv4 checksum (1 = good)");
            assertEquals("6080", row[1]);
            assertEquals("", row[2]);
        }
    }

    @Test
    void aHandshakeSpanningASaltRotationValidatesWithinGraceOnly() {
        final SaltSchedule schedule = TestSupport.keys(config).saltSchedule(config);
        final long epoch = schedule.epochAt(TestSupport.FIXTURE_MILLIS);
        assertEquals(GoldenFixtureTest.SYNS.size(), validated(schedule.snapshot(epoch + 1, true)),
            "next epoch, within grace");
        assertEquals(0, validated(schedule.snapshot(epoch + 1, false)), "next epoch, grace over");
        assertEquals(0, validated(schedule.snapshot(epoch + 2, true)), "two epochs later");
        assertEquals(0, validated(schedule.snapshot(epoch - 1, true)), "an epoch before the SYN");
    }

    private long validated(final io.synproxy.cookie.SaltSnapshot salts) {
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        engine.applySalts(salts);
        try (TestBurst burst = new TestBurst(acks).run(engine, TestSupport.FIXTURE_MILLIS)) {
            for (int i = 0; i < acks.size(); i++) {
                assertEquals(Verdict.TX_BACKEND, burst.verdict(i), "refused or not, every ACK is forwarded");
            }
        }
        return engine.counters().get(EngineCounters.ACKS_VALID);
    }

    /**
     * A backend's key as documented (HKDF-Expand-SHA256 of the authentication key, info = label || address), computed
     * here with the JDK's HMAC directly.
     */
    static byte[] backendKey(final String address) throws Exception {
        final javax.crypto.Mac hmac = javax.crypto.Mac.getInstance("HmacSHA256");
        hmac.init(new javax.crypto.spec.SecretKeySpec(HexFormat.of().parseHex(TestSupport.AUTH_HEX), "HmacSHA256"));
        hmac.update("synproxy backend auth v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        hmac.update(java.net.InetAddress.getByName(address).getAddress());
        hmac.update((byte) 1);
        return Arrays.copyOf(hmac.doFinal(), 16);
    }

    /** The documented authenticator message, assembled from bytes and hashed with the reference SipHash. */
    static long authenticator(final byte[] key, final byte[] o, final int inner, final boolean v6) {
        final int transport = inner + (v6 ? 40 : (o[inner] & 0x0f) * 4);
        final int addresses = v6 ? 32 : 8;
        final byte[] message = new byte[8 + addresses + 12];
        System.arraycopy(o, inner - 16, message, 0, 8);
        System.arraycopy(o, inner + (v6 ? 8 : 12), message, 8, addresses);
        System.arraycopy(o, transport, message, 8 + addresses, 12);
        return SipHash.hash(SipHash.keyWord(key, 0), SipHash.keyWord(key, 1), message, 0, message.length);
    }

    private static String ip4(final byte[] frame, final int at) {
        return (frame[at] & 0xff) + "." + (frame[at + 1] & 0xff) + "." + (frame[at + 2] & 0xff) + "."
            + (frame[at + 3] & 0xff);
    }
}
