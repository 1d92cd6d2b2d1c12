package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU8;

import java.lang.foreign.MemorySegment;

/**
 * TCP (RFC 9293).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Options (Data Offset > 5)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class TcpHeader {
    public static final int SOURCE_PORT_OFFSET = 0;
    public static final int DESTINATION_PORT_OFFSET = 2;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int ACKNOWLEDGMENT_OFFSET = 8;
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_OFFSET = 18;
    public static final int OPTIONS_OFFSET = 20;
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    private TcpHeader() {
    }

    public static int sourcePort(final MemorySegment segment, final long tcp) {
        return getU16(segment, tcp) & 0xffff;
    }

    public static int destinationPort(final MemorySegment segment, final long tcp) {
        return getU16(segment, tcp + DESTINATION_PORT_OFFSET) & 0xffff;
    }

    public static int sequence(final MemorySegment segment, final long tcp) {
        return getU32(segment, tcp + SEQUENCE_OFFSET);
    }

    public static int acknowledgment(final MemorySegment segment, final long tcp) {
        return getU32(segment, tcp + ACKNOWLEDGMENT_OFFSET);
    }

    /** Header length in bytes, options included. */
    public static int headerLength(final MemorySegment segment, final long tcp) {
        return (getU8(segment, tcp + DATA_OFFSET_OFFSET) & 0xf0) >>> 2;
    }

    public static int flags(final MemorySegment segment, final long tcp) {
        return getU8(segment, tcp + FLAGS_OFFSET) & 0xff;
    }

    // The same fields from the header's first two big-endian 8-byte words, as the IPv4 parser loads them: word 0 is
    // bytes 0-7 (ports, sequence number), word 1 bytes 8-15 (acknowledgment number, data offset, flags, window).

    public static int destinationPort(final long word0) {
        return (int) (word0 >>> 32) & 0xffff;
    }

    public static int sequence(final long word0) {
        return (int) word0;
    }

    public static int acknowledgment(final long word1) {
        return (int) (word1 >>> 32);
    }

    /** Header length in bytes, options included. */
    public static int headerLength(final long word1) {
        return ((int) word1 >>> 28) << 2;
    }

    public static int flags(final long word1) {
        return (int) (word1 >>> 16) & 0xff;
    }
}
