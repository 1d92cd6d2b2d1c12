package io.synproxy.fuzz;

import io.synproxy.config.IpAddress;
import io.synproxy.packet.ArpHeader;
import io.synproxy.packet.Checksum;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Frames for the engine's fuzz: well-formed seeds of every kind the engine handles (SYN, handshake ACK, data, RST,
 * ICMP errors, ARP, neighbour solicitation, VLAN tags, IPv6 extension headers), each with the map of its header
 * fields, and mutations that change one field at a time to values that sit on the parser's decisions (0, 1, all ones,
 * one off, random), cut or grow the frame at field boundaries, or scramble bytes. Not for the fast path: it allocates.
 */
public final class FrameFuzzer {
    /** A header field: where it is in the frame and how many bytes it has. */
    public record Field(String name, int offset, int width) {
    }

    /** A well-formed frame, its kind and its fields. */
    public record Seed(String kind, byte[] frame, List<Field> fields) {
    }

    static final IpAddress VIP4 = IpAddress.parse("198.51.100.10");
    static final IpAddress VIP6 = IpAddress.parse("2001:db8:100::10");
    private static final IpAddress CLIENT4 = IpAddress.parse("192.0.2.1");
    private static final IpAddress CLIENT6 = IpAddress.parse("2001:db8::1");

    private final List<Seed> seeds;

    /**
     * @param cookies answers a SYN with the SYN-ACK the engine sends (for handshake ACKs that validate); null: none
     */
    public FrameFuzzer(final Function<byte[], byte[]> cookies) {
        this.seeds = buildSeeds(cookies);
    }

    public List<Seed> seeds() {
        return seeds;
    }

    /** A frame to try: a mutated seed, most of the time, else random bytes. */
    public byte[] next(final SplittableRandom random) {
        if (random.nextInt(16) == 0) {
            final byte[] frame = new byte[random.nextInt(160)];
            random.nextBytes(frame);
            if (frame.length > 14 && random.nextBoolean()) {
                frame[0] = 2; // unicast, so it reaches the IP parsers
                final int type = new int[] {0x0800, 0x86dd, 0x0806, 0x8100}[random.nextInt(4)];
                frame[12] = (byte) (type >>> 8);
                frame[13] = (byte) type;
            }
            return frame;
        }
        final Seed seed = seeds.get(random.nextInt(seeds.size()));
        byte[] frame = seed.frame().clone();
        final int edits = 1 + (random.nextInt(4) == 0 ? random.nextInt(3) : 0);
        for (int e = 0; e < edits; e++) {
            frame = mutate(seed, frame, random);
        }
        return frame;
    }

    private static byte[] mutate(final Seed seed, final byte[] frame, final SplittableRandom random) {
        final List<Field> fields = seed.fields();
        final Field field = fields.get(random.nextInt(fields.size()));
        switch (random.nextInt(10)) {
            case 0:
                // Cut at a field boundary (or just inside one): every "is it long enough" check gets its edge.
                return Arrays.copyOf(frame,
                    Math.max(0, Math.min(frame.length, field.offset() + random.nextInt(3) - 1)));
            case 1:
                return Arrays.copyOf(frame, Math.max(0, frame.length - 1 - random.nextInt(Math.max(1, frame.length))));
            case 2: {
                final byte[] longer = Arrays.copyOf(frame, frame.length + 1 + random.nextInt(64));
                for (int i = frame.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                return longer;
            }
            case 3:
                if (frame.length > 0) {
                    final int at = random.nextInt(frame.length);
                    frame[at] ^= (byte) (1 << random.nextInt(8));
                }
                return frame;
            default:
                setField(frame, field, interesting(frame, field, random));
                return frame;
        }
    }

    /** 0, 1, all ones, the old value one off either way, a single high bit, or random. */
    private static long interesting(final byte[] frame, final Field field, final SplittableRandom random) {
        final long old = getField(frame, field);
        return switch (random.nextInt(7)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> -1L;
            case 3 -> old + 1;
            case 4 -> old - 1;
            case 5 -> 1L << (field.width() * 8 - 1);
            default -> random.nextLong();
        };
    }

    private static long getField(final byte[] frame, final Field field) {
        long value = 0;
        for (int i = 0; i < field.width() && field.offset() + i < frame.length; i++) {
            value = (value << 8) | (frame[field.offset() + i] & 0xff);
        }
        return value;
    }

    private static void setField(final byte[] frame, final Field field, final long value) {
        for (int i = field.width() - 1, shift = 0; i >= 0; i--, shift += 8) {
            if (field.offset() + i < frame.length) {
                frame[field.offset() + i] = (byte) (value >>> Math.min(shift, 63));
            }
        }
    }

    private static List<Seed> buildSeeds(final Function<byte[], byte[]> cookies) {
        final List<Seed> out = new ArrayList<>();
        final byte[] syn4 = FrameBuilder.tcp(CLIENT4, VIP4, 40000, 80, 0x11223344, 0, TcpHeader.SYN,
            FrameBuilder.linuxSynOptions(1460, 777, 7), 0);
        out.add(tcpSeed("syn-v4", syn4, 14, false));
        out.add(tcpSeed("syn-v4-vlan", vlan(syn4), 18, false));
        out.add(tcpSeed("syn-v4-data", FrameBuilder.tcp(CLIENT4, VIP4, 40001, 80, 5, 0, TcpHeader.SYN,
            new byte[] {2, 4, 5, (byte) 0xb4}, 10), 14, false));
        final byte[] syn6 = FrameBuilder.tcp(CLIENT6, VIP6, 40000, 80, 0x11223344, 0, TcpHeader.SYN,
            FrameBuilder.linuxSynOptions(1440, 777, 7), 0);
        out.add(tcpSeed("syn-v6", syn6, 14, true));
        out.add(extensionSeed("syn-v6-hop-by-hop", syn6, 0));
        out.add(extensionSeed("syn-v6-destination-options", syn6, 60));
        out.add(extensionSeed("syn-v6-routing", syn6, 43));
        if (cookies != null) {
            out.add(tcpSeed("ack-v4", handshakeAck(syn4, cookies.apply(syn4), false), 14, false));
            out.add(tcpSeed("ack-v6", handshakeAck(syn6, cookies.apply(syn6), true), 14, true));
        }
        out.add(tcpSeed("data-v4", FrameBuilder.tcp(CLIENT4, VIP4, 40002, 80, 7, 9, TcpHeader.ACK | TcpHeader.PSH,
            FrameBuilder.timestampOptions(1, 2), 100), 14, false));
        out.add(tcpSeed("rst-v4", FrameBuilder.tcp(CLIENT4, VIP4, 40003, 80, 7, 0, TcpHeader.RST, new byte[0], 0),
            14, false));
        out.add(tcpSeed("fin-v6", FrameBuilder.tcp(CLIENT6, VIP6, 40003, 80, 7, 9, TcpHeader.FIN | TcpHeader.ACK,
            new byte[0], 0), 14, true));
        out.add(fragmentationNeeded());
        out.add(packetTooBig());
        out.add(arpRequest());
        out.add(neighbourSolicitation());
        return out;
    }

    private static List<Field> ethernet() {
        return new ArrayList<>(List.of(new Field("eth.dst", 0, 6), new Field("eth.src", 6, 6),
            new Field("eth.type", 12, 2)));
    }

    private static void ipv4(final List<Field> f, final int at, final String p) {
        f.addAll(List.of(new Field(p + "version-ihl", at, 1), new Field(p + "tos", at + 1, 1),
            new Field(p + "total-length", at + 2, 2), new Field(p + "id", at + 4, 2), new Field(p + "frag", at + 6, 2),
            new Field(p + "ttl", at + 8, 1), new Field(p + "protocol", at + 9, 1),
            new Field(p + "checksum", at + 10, 2),
            new Field(p + "source", at + 12, 4), new Field(p + "destination", at + 16, 4)));
    }

    private static void ipv6(final List<Field> f, final int at, final String p) {
        f.addAll(List.of(new Field(p + "version-class-label", at, 4), new Field(p + "payload-length", at + 4, 2),
            new Field(p + "next-header", at + 6, 1), new Field(p + "hop-limit", at + 7, 1),
            new Field(p + "source-high", at + 8, 8), new Field(p + "source-low", at + 16, 8),
            new Field(p + "destination-high", at + 24, 8), new Field(p + "destination-low", at + 32, 8)));
    }

    private static void tcp(final List<Field> f, final int at, final int length) {
        f.addAll(List.of(new Field("tcp.source-port", at, 2), new Field("tcp.destination-port", at + 2, 2),
            new Field("tcp.seq", at + 4, 4), new Field("tcp.ack", at + 8, 4), new Field("tcp.data-offset", at + 12, 1),
            new Field("tcp.flags", at + 13, 1), new Field("tcp.window", at + 14, 2),
            new Field("tcp.checksum", at + 16, 2), new Field("tcp.urgent", at + 18, 2)));
        for (int o = at + 20; o < at + length; o++) {
            f.add(new Field("tcp.option-byte", o, 1)); // kinds, lengths and values, one byte at a time
        }
    }

    private static Seed tcpSeed(final String kind, final byte[] frame, final int l3, final boolean v6) {
        final List<Field> f = ethernet();
        if (l3 == 18) {
            f.add(new Field("vlan.tci", 14, 2));
            f.add(new Field("vlan.type", 16, 2));
        }
        final int l4 = l3 + (v6 ? 40 : (frame[l3] & 0x0f) * 4);
        if (v6) {
            ipv6(f, l3, "ipv6.");
        } else {
            ipv4(f, l3, "ipv4.");
        }
        tcp(f, l4, (frame[l4 + 12] & 0xf0) >>> 2);
        return new Seed(kind, frame, List.copyOf(f));
    }

    private static byte[] vlan(final byte[] frame) {
        final byte[] tagged = new byte[frame.length + 4];
        System.arraycopy(frame, 0, tagged, 0, 12);
        tagged[12] = (byte) 0x81;
        tagged[14] = 0;
        tagged[15] = 100;
        System.arraycopy(frame, 12, tagged, 16, frame.length - 12);
        return tagged;
    }

    /** The IPv6 SYN behind an 8-byte extension header of type {@code next} (PadN inside). */
    private static Seed extensionSeed(final String kind, final byte[] syn6, final int type) {
        final byte[] frame = new byte[syn6.length + 8];
        System.arraycopy(syn6, 0, frame, 0, 54);
        System.arraycopy(syn6, 54, frame, 62, syn6.length - 54);
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.putShort(18, (short) (b.getShort(18) + 8));
        frame[20] = (byte) type;
        frame[54] = 6; // then TCP
        frame[55] = 0;
        frame[56] = (byte) (type == 43 ? 0 : 1); // routing: type 0 header; others: PadN, length 4
        frame[57] = 4;
        final List<Field> f = ethernet();
        ipv6(f, 14, "ipv6.");
        f.addAll(List.of(new Field("ext.next-header", 54, 1), new Field("ext.length", 55, 1),
            new Field("ext.option", 56, 2)));
        tcp(f, 62, (frame[62 + 12] & 0xf0) >>> 2);
        return new Seed(kind, frame, List.copyOf(f));
    }

    /** The client's handshake ACK for our SYN-ACK, echoing its TSval when it has timestamps. */
    private static byte[] handshakeAck(final byte[] syn, final byte[] synAck, final boolean v6) {
        final ByteBuffer b = ByteBuffer.wrap(synAck);
        final int tcp = 14 + (v6 ? 40 : 20);
        final int cookie = b.getInt(tcp + TcpHeader.SEQUENCE_OFFSET);
        final int tsVal = b.getInt(tcp + 20 + 8);
        final int isn = ByteBuffer.wrap(syn).getInt(tcp + TcpHeader.SEQUENCE_OFFSET);
        return FrameBuilder.tcp(v6 ? CLIENT6 : CLIENT4, v6 ? VIP6 : VIP4, 40000, 80, isn + 1, cookie + 1,
            TcpHeader.ACK, FrameBuilder.timestampOptions(778, tsVal), 0);
    }

    private static Seed fragmentationNeeded() {
        final byte[] frame = new byte[14 + 20 + 8 + 20 + 8];
        final MemorySegment m = MemorySegment.ofArray(frame);
        EthernetHeader.write(m, 0, FrameBuilder.PROXY_MAC, 0x0200000000feL, EthernetHeader.ETHER_TYPE_IPV4);
        Ipv4Header.write(m, 14, 0, frame.length - 14, 64, Ipv4Header.PROTOCOL_ICMP,
            IpAddress.parse("192.0.2.254").v4(), VIP4.v4());
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.put(34, (byte) 3).put(35, (byte) 4).putShort(40, (short) 1400);
        Ipv4Header.write(m, 42, 0, 1500, 64, Ipv4Header.PROTOCOL_TCP, VIP4.v4(), CLIENT4.v4());
        b.putShort(62, (short) 80).putShort(64, (short) 40000).putInt(66, 0x55667788);
        b.putShort(36, (short) Checksum.finish(Checksum.sum(m, 34, frame.length - 34)));
        final List<Field> f = ethernet();
        ipv4(f, 14, "ipv4.");
        f.addAll(List.of(new Field("icmp.type", 34, 1), new Field("icmp.code", 35, 1),
            new Field("icmp.mtu", 40, 2)));
        ipv4(f, 42, "quoted.ipv4.");
        f.addAll(List.of(new Field("quoted.source-port", 62, 2), new Field("quoted.destination-port", 64, 2),
            new Field("quoted.seq", 66, 4)));
        return new Seed("icmp-fragmentation-needed", frame, List.copyOf(f));
    }

    private static Seed packetTooBig() {
        final byte[] frame = new byte[14 + 40 + 8 + 40 + 8];
        final MemorySegment m = MemorySegment.ofArray(frame);
        final IpAddress router = IpAddress.parse("2001:db8::fe");
        EthernetHeader.write(m, 0, FrameBuilder.PROXY_MAC, 0x0200000000feL, EthernetHeader.ETHER_TYPE_IPV6);
        Ipv6Header.write(m, 14, 0, 0, frame.length - 54, 58, 64, router.high(), router.low(), VIP6.high(),
            VIP6.low());
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.put(54, (byte) 2).putInt(58, 1280);
        Ipv6Header.write(m, 62, 0, 0, 1440, Ipv6Header.NEXT_TCP, 64, VIP6.high(), VIP6.low(), CLIENT6.high(),
            CLIENT6.low());
        b.putShort(102, (short) 80).putShort(104, (short) 40000).putInt(106, 0x55667788);
        final List<Field> f = ethernet();
        ipv6(f, 14, "ipv6.");
        f.addAll(List.of(new Field("icmp6.type", 54, 1), new Field("icmp6.code", 55, 1),
            new Field("icmp6.mtu", 58, 4)));
        ipv6(f, 62, "quoted.ipv6.");
        f.addAll(List.of(new Field("quoted.source-port", 102, 2), new Field("quoted.destination-port", 104, 2)));
        return new Seed("icmp6-packet-too-big", frame, List.copyOf(f));
    }

    private static Seed arpRequest() {
        final byte[] frame = new byte[42];
        final MemorySegment m = MemorySegment.ofArray(frame);
        EthernetHeader.write(m, 0, 0xffffffffffffL, FrameBuilder.CLIENT_MAC, EthernetHeader.ETHER_TYPE_ARP);
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.putShort(14, (short) 1).putShort(16, (short) 0x0800).put(18, (byte) 6).put(19, (byte) 4)
            .putShort(14 + ArpHeader.OPERATION_OFFSET, (short) ArpHeader.REQUEST);
        EthernetHeader.putMac(m, 14 + ArpHeader.SENDER_MAC_OFFSET, FrameBuilder.CLIENT_MAC);
        b.putInt(14 + ArpHeader.SENDER_IP_OFFSET, CLIENT4.v4()).putInt(14 + ArpHeader.TARGET_IP_OFFSET, VIP4.v4());
        final List<Field> f = ethernet();
        f.addAll(List.of(new Field("arp.hardware", 14, 2), new Field("arp.protocol", 16, 2),
            new Field("arp.lengths", 18, 2), new Field("arp.operation", 20, 2), new Field("arp.sender-mac", 22, 6),
            new Field("arp.sender-ip", 28, 4), new Field("arp.target-mac", 32, 6), new Field("arp.target-ip", 38, 4)));
        return new Seed("arp-request", frame, List.copyOf(f));
    }

    private static Seed neighbourSolicitation() {
        final int icmpLength = 24 + 8;
        final byte[] frame = new byte[14 + 40 + icmpLength];
        final MemorySegment m = MemorySegment.ofArray(frame);
        final IpAddress group = IpAddress.parse("ff02::1:ff00:10");
        EthernetHeader.write(m, 0, 0x3333ff000010L, FrameBuilder.CLIENT_MAC, EthernetHeader.ETHER_TYPE_IPV6);
        Ipv6Header.write(m, 14, 0, 0, icmpLength, 58, 255, CLIENT6.high(), CLIENT6.low(), group.high(), group.low());
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.put(54, (byte) 135).putLong(62, VIP6.high()).putLong(70, VIP6.low()).put(78, (byte) 1).put(79, (byte) 1);
        EthernetHeader.putMac(m, 80, FrameBuilder.CLIENT_MAC);
        final long pseudo = Checksum.sum(m, 14 + 8, 32) + 58 + icmpLength;
        b.putShort(56, (short) Checksum.finish(pseudo + Checksum.sum(m, 54, icmpLength)));
        final List<Field> f = ethernet();
        ipv6(f, 14, "ipv6.");
        f.addAll(List.of(new Field("nd.type", 54, 1), new Field("nd.code", 55, 1), new Field("nd.checksum", 56, 2),
            new Field("nd.target-high", 62, 8), new Field("nd.target-low", 70, 8), new Field("nd.option-type", 78, 1),
            new Field("nd.option-length", 79, 1)));
        return new Seed("neighbour-solicitation", frame, List.copyOf(f));
    }
}
