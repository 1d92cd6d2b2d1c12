package io.synproxy.packet;

import io.synproxy.config.IpAddress;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Builds client TCP frames (Ethernet, IPv4 or IPv6, TCP with options, valid checksums) for benchmarks and traffic
 * generators. Not for the fast path: it allocates.
 */
public final class FrameBuilder {
    public static final long CLIENT_MAC = 0x020000000001L;
    public static final long PROXY_MAC = 0x020000000002L;

    private FrameBuilder() {
    }

    /** A TCP segment from {@code client} to {@code vip}; {@code options} is a raw option block (multiple of 4). */
    public static byte[] tcp(final IpAddress client, final IpAddress vip, final int sourcePort, final int vipPort,
                             final int seq, final int ack, final int flags, final byte[] options,
                             final int payloadLength) {
        final int tcpLength = TcpHeader.MIN_LENGTH + options.length;
        final int ipHeader = vip.v6() ? Ipv6Header.LENGTH : Ipv4Header.MIN_LENGTH;
        final int total = EthernetHeader.LENGTH + ipHeader + tcpLength + payloadLength;
        final byte[] frame = new byte[Math.max(total, EthernetHeader.MIN_FRAME_LENGTH)];
        final MemorySegment m = MemorySegment.ofArray(frame);
        EthernetHeader.write(m, 0, PROXY_MAC, CLIENT_MAC,
            vip.v6() ? EthernetHeader.ETHER_TYPE_IPV6 : EthernetHeader.ETHER_TYPE_IPV4);
        final long ip = EthernetHeader.LENGTH;
        final long tcp = ip + ipHeader;
        final int segment = tcpLength + payloadLength;
        final long pseudo;
        if (vip.v6()) {
            Ipv6Header.write(m, ip, 0, 0, segment, Ipv6Header.NEXT_TCP, Ipv6Header.DEFAULT_HOP_LIMIT, client.high(),
                client.low(), vip.high(), vip.low());
            pseudo = Checksum.sum64(client.high()) + Checksum.sum64(client.low()) + Checksum.sum64(vip.high())
                + Checksum.sum64(vip.low()) + Ipv6Header.NEXT_TCP + segment;
        } else {
            Ipv4Header.write(m, ip, 0, Ipv4Header.MIN_LENGTH + segment, Ipv4Header.DEFAULT_TTL,
                Ipv4Header.PROTOCOL_TCP, client.v4(), vip.v4());
            pseudo = Checksum.sum32(client.v4()) + Checksum.sum32(vip.v4()) + Ipv4Header.PROTOCOL_TCP + segment;
        }
        final ByteBuffer b = ByteBuffer.wrap(frame);
        b.putShort((int) tcp, (short) sourcePort).putShort((int) tcp + 2, (short) vipPort)
            .putInt((int) tcp + TcpHeader.SEQUENCE_OFFSET, seq).putInt((int) tcp + TcpHeader.ACKNOWLEDGMENT_OFFSET, ack)
            .put((int) tcp + TcpHeader.DATA_OFFSET_OFFSET, (byte) (tcpLength << 2))
            .put((int) tcp + TcpHeader.FLAGS_OFFSET, (byte) flags)
            .putShort((int) tcp + TcpHeader.WINDOW_OFFSET, (short) 64240);
        System.arraycopy(options, 0, frame, (int) tcp + TcpHeader.MIN_LENGTH, options.length);
        for (int i = 0; i < payloadLength; i++) {
            frame[(int) tcp + tcpLength + i] = (byte) ('a' + i % 26);
        }
        b.putShort((int) tcp + TcpHeader.CHECKSUM_OFFSET, (short) Checksum.finish(pseudo + Checksum.sum(m, tcp,
            segment)));
        return frame;
    }

    /** The options of a Linux SYN: MSS, SACK-permitted, timestamps, NOP, window scale. */
    public static byte[] linuxSynOptions(final int mss, final int tsValue, final int windowScale) {
        return ByteBuffer.allocate(20).putShort((short) 0x0204).putShort((short) mss)
            .putShort((short) 0x0402).putShort((short) 0x080a).putInt(tsValue).putInt(0)
            .put((byte) 1).put((byte) 3).put((byte) 3).put((byte) windowScale).array();
    }

    /** The options of an ACK with timestamps: NOP, NOP, timestamps. */
    public static byte[] timestampOptions(final int tsValue, final int tsEcho) {
        return ByteBuffer.allocate(12).putShort((short) 0x0101).putShort((short) 0x080a).putInt(tsValue)
            .putInt(tsEcho).array();
    }
}
