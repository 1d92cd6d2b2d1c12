package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.Tshark;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.cookie.SynCookie;
import io.synproxy.pcap.PcapReader;
import io.synproxy.pcap.PcapWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden tests: SYNs made by scapy and captured from a real curl, through the engine, and the SYN-ACKs checked by
 * tshark, an independent dissector (checksums validated, every field as expected), and by the cookie codec.
 */
class GoldenFixtureTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures");
    private static final int NONE = SynCookie.WSCALE_NONE;

    /** A SYN fixture and the SYN-ACK it must get; {@code clientWscale} is what the cookie carries. */
    record Syn(String file, boolean v6, int mssIndex, int clientWscale, boolean sack, boolean timestamps,
               boolean ecn, String vlan) {
    }

    static final List<Syn> SYNS = List.of(
        new Syn("syn_v4_no_options", false, 0, NONE, false, false, false, ""),
        new Syn("syn_v4_mss_only", false, 3, NONE, false, false, false, ""),
        new Syn("syn_v4_ws14", false, 3, 14, false, false, false, ""),
        new Syn("syn_v4_ws15", false, 3, 14, false, false, false, ""),
        new Syn("syn_v4_sack", false, 3, NONE, true, false, false, ""),
        new Syn("syn_v4_timestamps", false, 3, NONE, false, true, false, ""),
        new Syn("syn_v4_ecn", false, 3, NONE, false, false, true, ""),
        new Syn("syn_v4_linux", false, 3, 7, true, true, false, ""),
        new Syn("syn_v4_unknown_option", false, 3, NONE, true, false, false, ""),
        new Syn("syn_v4_vlan", false, 3, 7, true, true, false, "100"),
        new Syn("syn_v4_ip_options", false, 3, NONE, false, false, false, ""),
        new Syn("syn_v4_with_payload", false, 3, NONE, false, false, false, ""),
        new Syn("syn_v4_curl", false, 3, 10, true, true, false, ""),
        new Syn("syn_v6_linux", true, 2, 7, true, true, false, ""),
        new Syn("syn_v6_hop_by_hop", true, 2, NONE, false, false, false, ""),
        new Syn("syn_v6_no_options", true, 0, NONE, false, false, false, ""),
        new Syn("syn_v6_curl", true, 2, 10, true, true, false, ""));

    record Drop(String file, DropReason reason) {
    }

    static final List<Drop> DROPS = List.of(
        new Drop("drop_syn_fin", DropReason.SYN_FIN),
        new Drop("drop_syn_rst", DropReason.SYN_RST),
        new Drop("drop_v4_fragment", DropReason.FRAGMENT),
        new Drop("drop_v6_fragment", DropReason.FRAGMENT),
        new Drop("drop_bad_option_length", DropReason.BAD_TCP_OPTIONS),
        new Drop("drop_option_overrun", DropReason.BAD_TCP_OPTIONS),
        new Drop("drop_truncated", DropReason.TRUNCATED),
        new Drop("drop_bad_ihl", DropReason.BAD_IP_HEADER),
        new Drop("drop_bad_data_offset", DropReason.BAD_DATA_OFFSET),
        new Drop("drop_not_vip", DropReason.NOT_VIP),
        new Drop("drop_not_vip_port", DropReason.NOT_VIP),
        new Drop("drop_udp", DropReason.NOT_TCP),
        new Drop("drop_bad_ip_checksum", DropReason.BAD_IP_CHECKSUM));

    @TempDir
    Path dir;

    static PcapReader.Frame first(final String name) throws IOException {
        try (PcapReader reader = new PcapReader(FIXTURES.resolve(name + ".pcap"))) {
            return reader.next();
        }
    }

    @Test
    void synsGetTheSynAckAnIndependentDissectorAgreesWith() throws Exception {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final List<byte[]> inputs = new ArrayList<>();
        final List<Long> times = new ArrayList<>();
        for (final Syn syn : SYNS) {
            final PcapReader.Frame frame = first(syn.file());
            inputs.add(frame.data());
            times.add(frame.timestampNanos());
        }
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final SaltSnapshot salts = engine.salts();
        final Path out = dir.resolve("synacks.pcap");
        try (TestBurst burst = new TestBurst(inputs).run(engine, TestSupport.FIXTURE_MILLIS);
             PcapWriter writer = new PcapWriter(out)) {
            for (int i = 0; i < SYNS.size(); i++) {
                final Syn syn = SYNS.get(i);
                assertEquals(Verdict.TX_CLIENT, burst.verdict(i), syn.file() + ": " + burst.reason(i));
                final byte[] output = burst.output(i);
                writer.write(times.get(i), output);
                // The cookie in the SYN-ACK validates for the client's flow and carries the expected options.
                final int bits = validate(salts, syn.v6(), inputs.get(i), output);
                assertTrue(bits >= 0, syn.file() + ": cookie does not validate");
                assertEquals(syn.mssIndex(), SynCookie.mssIndex(bits), syn.file() + ": MSS index");
                assertEquals(syn.clientWscale(), SynCookie.wscale(bits), syn.file() + ": window scale");
                assertEquals(syn.sack(), SynCookie.sack(bits), syn.file() + ": SACK");
                assertEquals(syn.ecn(), SynCookie.ecn(bits), syn.file() + ": ECN");
            }
        }
        assertEquals(SYNS.size(), engine.counters().get(EngineCounters.SYN_ACKS_SENT));
        assertEquals(1, engine.counters().get(EngineCounters.SYN_DATA_IGNORED), "the SYN with data, answered");

        final List<String[]> rows = Tshark.fields(out, "ip.checksum.status", "tcp.checksum.status", "tcp.flags",
            "tcp.ack_raw", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
            "tcp.options.timestamp.tsecr", "vlan.id", "eth.src", "eth.dst", "ip.src", "ipv6.src", "ip.dst",
            "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.window_size_value", "_ws.malformed");
        assertEquals(SYNS.size(), rows.size());
        for (int i = 0; i < SYNS.size(); i++) {
            final Syn syn = SYNS.get(i);
            final String[] r = rows.get(i);
            final ByteBuffer in = ByteBuffer.wrap(inputs.get(i)).order(ByteOrder.BIG_ENDIAN);
            final String where = syn.file() + " -> tshark row " + String.join("|", r);
            assertEquals(syn.v6() ? "" : "1", r[0], where + ": IPv4 checksum status (1 = good)");
            assertEquals("1", r[1], where + ": TCP checksum status (1 = good)");
            assertEquals(syn.ecn() ? "0x0052" : "0x0012", r[2], where + ": flags");
            final int tcp = tcpOffset(inputs.get(i), syn.v6());
            assertEquals(Integer.toUnsignedString(in.getInt(tcp + 4) + 1), r[3], where + ": ack = ISN + 1");
            assertEquals(syn.v6() ? "1372" : "1392", r[4], where + ": MSS is the path MSS, not the client's");
            assertEquals(syn.clientWscale() == NONE ? "" : "7", r[5], where + ": our window scale, only if offered");
            assertEquals(syn.sack(), !r[6].isEmpty(), where + ": SACK-permitted");
            if (syn.timestamps()) {
                final int tsval = tsval(inputs.get(i), tcp);
                assertEquals(Integer.toUnsignedString(tsval), r[7], where + ": TSecr echoes the client's TSval");
            } else {
                assertEquals("", r[7], where + ": no timestamps unless offered");
            }
            assertEquals(syn.vlan(), r[8], where + ": VLAN tag kept");
            assertEquals("02:00:00:00:00:02", r[9], where + ": source MAC is the proxy's");
            assertEquals("02:00:00:00:00:01", r[10], where + ": destination MAC is the client's");
            assertEquals(syn.v6() ? "2001:db8:100::10" : "198.51.100.10", syn.v6() ? r[12] : r[11], where);
            assertEquals(syn.v6() ? "2001:db8::1" : "192.0.2.1", syn.v6() ? r[14] : r[13], where);
            assertEquals("80", r[15], where);
            assertEquals(Integer.toString(in.getShort(tcp) & 0xffff), r[16], where);
            assertEquals("65535", r[17], where);
            assertEquals("", r[18], where + ": tshark finds the frame malformed");
        }
    }

    @Test
    void malformedAndForeignFramesAreDroppedWithTheirReason() throws Exception {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final List<byte[]> inputs = new ArrayList<>();
        for (final Drop drop : DROPS) {
            inputs.add(first(drop.file()).data());
        }
        // Neither IPv4, IPv6 nor ARP: refused for its EtherType, or first for being broadcast.
        final byte[] other = first("arp_request_vip").data().clone();
        other[12] = (byte) 0x88;
        other[13] = (byte) 0xb5;
        inputs.add(other.clone());
        System.arraycopy(new byte[] {2, 0, 0, 0, 0, 2}, 0, other, 0, 6);
        inputs.add(other);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        try (TestBurst burst = new TestBurst(inputs).run(engine, TestSupport.FIXTURE_MILLIS)) {
            for (int i = 0; i < DROPS.size(); i++) {
                assertEquals(Verdict.DROP, burst.verdict(i), DROPS.get(i).file());
                assertEquals(DROPS.get(i).reason(), burst.reason(i), DROPS.get(i).file());
                assertEquals(inputs.get(i).length, burst.output(i).length, "a dropped frame is left as it was");
            }
            assertEquals(DropReason.NOT_UNICAST, burst.reason(DROPS.size()));
            assertEquals(DropReason.NOT_IP, burst.reason(DROPS.size() + 1));
        }
        assertEquals(DROPS.size() + 2, engine.counters().get(EngineCounters.DROPPED));
        assertEquals(2, engine.counters().dropped(DropReason.FRAGMENT));
    }

    @Test
    void establishedDataAndResetsAreForwardedUnmarked() throws Exception {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final List<byte[]> inputs = List.of(first("ack_v4_established").data(), first("rst_v4").data());
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        try (TestBurst burst = new TestBurst(inputs).run(engine, TestSupport.FIXTURE_MILLIS)) {
            for (int i = 0; i < 2; i++) {
                assertEquals(Verdict.TX_BACKEND, burst.verdict(i));
                final byte[] out = burst.output(i);
                final int ipLength = ((inputs.get(i)[16] & 0xff) << 8) | (inputs.get(i)[17] & 0xff);
                assertEquals(14 + 20 + 8 + 16 + ipLength, out.length, "outer headers + the client's IP packet");
                assertEquals(0x1000, ((out[44] & 0xff) << 8) | (out[45] & 0xff), "version 1, no handshake mark");
                assertEquals(0, ((out[46] & 0xff) << 8) | (out[47] & 0xff), "no MSS without the mark");
            }
        }
        assertEquals(1, engine.counters().get(EngineCounters.ACKS_NOT_VALIDATED));
        assertEquals(1, engine.counters().get(EngineCounters.OTHER_FORWARDED));
    }

    static int tcpOffset(final byte[] frame, final boolean v6) {
        int l2 = 14;
        if ((frame[12] & 0xff) == 0x81 && frame[13] == 0) {
            l2 = 18;
        }
        if (!v6) {
            return l2 + (frame[l2] & 0x0f) * 4;
        }
        int next = frame[l2 + 6] & 0xff;
        int at = l2 + 40;
        while (next == 0 || next == 43 || next == 60) {
            next = frame[at] & 0xff;
            at += ((frame[at + 1] & 0xff) + 1) * 8;
        }
        return at;
    }

    /** The client's TSval from its SYN's options, walked independently of the engine's parser. */
    static int tsval(final byte[] frame, final int tcp) {
        final Integer value = timestampOption(frame, tcp, 2);
        if (value == null) {
            throw new AssertionError("no timestamp option");
        }
        return value;
    }

    /** A 4-byte field of the timestamp option ({@code field} 2: TSval, 6: TSecr), or null without one. */
    static Integer timestampOption(final byte[] frame, final int tcp, final int field) {
        final int end = tcp + ((frame[tcp + 12] & 0xf0) >>> 2);
        for (int at = tcp + 20; at < end; ) {
            final int kind = frame[at] & 0xff;
            if (kind == 1) {
                at++;
                continue;
            }
            if (kind == 8) {
                return ByteBuffer.wrap(frame).getInt(at + field);
            }
            if (kind == 0) {
                break;
            }
            at += frame[at + 1] & 0xff;
        }
        return null;
    }

    /**
     * Validates the SYN-ACK's cookie as the client's ACK would return it (echoing our TSval when the SYN-ACK has
     * timestamps); returns the cookie's option bits, or -1.
     */
    static int validate(final SaltSnapshot salts, final boolean v6, final byte[] syn, final byte[] synAck) {
        final ByteBuffer le = ByteBuffer.wrap(syn).order(ByteOrder.LITTLE_ENDIAN);
        final int l3 = syn[12] == (byte) 0x81 ? 18 : 14;
        final int tcp = tcpOffset(syn, v6);
        final int isn = ByteBuffer.wrap(syn).getInt(tcp + 4);
        final int synAckTcp = l3 + (v6 ? 40 : 20);
        final int cookie = ByteBuffer.wrap(synAck).getInt(synAckTcp + 4);
        final Integer echo = timestampOption(synAck, synAckTcp, 2);
        final int ports = le.getInt(tcp);
        final long epoch = !v6
            ? SynCookie.validateV4(salts, le.getLong(l3 + 12), ports, isn, cookie, echo != null,
                echo == null ? 0 : echo)
            : SynCookie.validateV6(salts, le.getLong(l3 + 8), le.getLong(l3 + 16), le.getLong(l3 + 24),
                le.getLong(l3 + 32), ports, isn, cookie, echo != null, echo == null ? 0 : echo);
        return epoch < 0 ? -1 : cookie & SynCookie.OPTION_MASK;
    }
}
