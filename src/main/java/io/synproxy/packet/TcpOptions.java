package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;
import static io.synproxy.packet.Bytes.setU32;
import static io.synproxy.packet.Bytes.setU64;

import java.lang.foreign.MemorySegment;

/**
 * The TCP options a SYN proxy cares about, parsed from a SYN, and the SYN-ACK's option block.
 *
 * <pre>
 *   kind 0  End of option list           kind 1  No-operation
 *   kind 2  MSS             len 4        +--------+--------+--------+--------+
 *                                        |   2    |   4    |   MSS (16 bits) |
 *   kind 3  Window scale    len 3        +--------+--------+--------+
 *                                        |   3    |   3    | shift  |
 *   kind 4  SACK permitted  len 2        +--------+--------+
 *                                        |   4    |   2    |
 *   kind 8  Timestamps      len 10       +--------+--------+--------- ... ---------+--------- ... ---------+
 *                                        |   8    |   10   |   TSval (32 bits)     |   TSecr (32 bits)     |
 * </pre>
 *
 * A mutable per-worker holder: {@link #parse} overwrites every field. Like Linux, a known option with an unexpected
 * length is ignored and unknown options are skipped by their length; an option list that cannot be walked (a length
 * below 2, or an option running past the header) is malformed and the segment is dropped.
 */
public final class TcpOptions {
    public static final int KIND_EOL = 0;
    public static final int KIND_NOP = 1;
    public static final int KIND_MSS = 2;
    public static final int KIND_WINDOW_SCALE = 3;
    public static final int KIND_SACK_PERMITTED = 4;
    public static final int KIND_TIMESTAMPS = 8;
    /** The longest option block a SYN-ACK needs: MSS 4 + SACK-permitted and timestamps 12 + NOP and WS 4. */
    public static final int MAX_SYN_ACK_LENGTH = 20;

    /** The MSS option's value, or -1 if absent (an MSS of 0 counts as absent, as in Linux). */
    public int mss;
    /** The window scale shift as sent (may exceed 14), or -1 if absent. */
    public int windowScale;
    public boolean sackPermitted;
    public boolean timestamps;
    public int tsValue;
    public int tsEcho;

    /**
     * Parses {@code length} bytes of options at {@code offset}.
     *
     * @return false if the option list is malformed
     */
    public boolean parse(final MemorySegment segment, final long offset, final int length) {
        if (length == LINUX_LAYOUT_LENGTH && parseLinuxLayout(segment, offset)) {
            return true;
        }
        mss = -1;
        windowScale = -1;
        sackPermitted = false;
        timestamps = false;
        int i = 0;
        while (i < length) {
            final int kind = getU8(segment, offset + i) & 0xff;
            if (kind == KIND_EOL) {
                break;
            }
            if (kind == KIND_NOP) {
                i++;
                continue;
            }
            if (i + 1 >= length) {
                return false;
            }
            final int optionLength = getU8(segment, offset + i + 1) & 0xff;
            if (optionLength < 2 || i + optionLength > length) {
                return false;
            }
            final long at = offset + i;
            switch (kind) {
                case KIND_MSS -> {
                    if (optionLength == 4) {
                        final int value = getU16(segment, at + 2) & 0xffff;
                        mss = value == 0 ? -1 : value;
                    }
                }
                case KIND_WINDOW_SCALE -> {
                    if (optionLength == 3) {
                        windowScale = getU8(segment, at + 2) & 0xff;
                    }
                }
                case KIND_SACK_PERMITTED -> sackPermitted |= optionLength == 2;
                case KIND_TIMESTAMPS -> {
                    if (optionLength == 10) {
                        timestamps = true;
                        tsValue = getU32(segment, at + 2);
                        tsEcho = getU32(segment, at + 6);
                    }
                }
                default -> {
                    // Unknown options are skipped by their length and never reflected.
                }
            }
            i += optionLength;
        }
        return true;
    }

    /** Linux's SYN options: MSS, SACK-permitted, timestamps, NOP, window scale; the common case, parsed at once. */
    public static final int LINUX_LAYOUT_LENGTH = 20;
    private static final long LINUX_HEAD_MASK = 0xffff0000ffffffffL;
    private static final long LINUX_HEAD = 0x020400000402080aL;
    private static final int LINUX_TAIL = 0x01030300;

    private boolean parseLinuxLayout(final MemorySegment segment, final long offset) {
        return parseLinuxLayout(getU64(segment, offset), getU64(segment, offset + 8),
            getU32(segment, offset + 16));
    }

    /**
     * Parses a 20-byte option block from its words in hand (big-endian, as loaded) when it has Linux's layout.
     *
     * @param head bytes 0-7: MSS option, SACK-permitted, timestamps kind and length
     * @param timestampWords bytes 8-15: TSval, TSecr
     * @param tail bytes 16-19: NOP, window scale option
     * @return false, touching nothing, when the block has another layout
     */
    public boolean parseLinuxLayout(final long head, final long timestampWords, final int tail) {
        if ((head & LINUX_HEAD_MASK) != LINUX_HEAD || (tail & 0xffffff00) != LINUX_TAIL) {
            return false;
        }
        final int value = (int) (head >>> 32) & 0xffff;
        mss = value == 0 ? -1 : value;
        windowScale = tail & 0xff;
        sackPermitted = true;
        timestamps = true;
        tsValue = (int) (timestampWords >>> 32);
        tsEcho = (int) timestampWords;
        return true;
    }

    /** An ACK's options in the layout Linux sends once timestamps are on: NOP, NOP, timestamps (12 bytes). */
    public static final int ACK_TIMESTAMPS_LENGTH = 12;
    /** Its first word: NOP, NOP, kind 8, length 10. */
    public static final int NOP_NOP_TIMESTAMPS = 0x0101080a;
    /** Where the TSecr sits in that layout, from the start of the options. */
    public static final int ACK_TSECR_OFFSET = 8;

    /** Where {@link #writeSynAck} puts the TSval, from the start of the options, when it writes timestamps. */
    public static final int SYN_ACK_TSVAL_OFFSET = 8;
    private static final int SACK_TIMESTAMPS_HEAD =
        (KIND_SACK_PERMITTED << 24) | (2 << 16) | (KIND_TIMESTAMPS << 8) | 10;
    private static final int NOP_TIMESTAMPS_HEAD = (KIND_NOP << 24) | (KIND_NOP << 16) | (KIND_TIMESTAMPS << 8) | 10;
    private static final int WINDOW_SCALE_HEAD = (KIND_NOP << 24) | (KIND_WINDOW_SCALE << 16) | (3 << 8);

    /** Length of the SYN-ACK option block {@link #writeSynAck} writes for these choices. */
    public static int synAckLength(final boolean windowScale, final boolean sack, final boolean timestamps) {
        return 4 + (timestamps ? 12 : sack ? 4 : 0) + (windowScale ? 4 : 0);
    }

    /**
     * Writes a SYN-ACK's options in the order Linux uses (MSS, SACK-permitted, timestamps, NOP, window scale), each
     * 32-bit aligned.
     *
     * @param windowScale our shift, or -1 to send none
     * @return the unfolded checksum sum of the bytes written ({@link #synAckLength} says how many)
     */
    public static long writeSynAck(final MemorySegment segment, final long offset, final int mss, final int windowScale,
                                  final boolean sack, final boolean timestamps, final int tsValue, final int tsEcho) {
        final int mssWord = (KIND_MSS << 24) | (4 << 16) | mss;
        if (timestamps && windowScale >= 0) {
            // What a Linux client asks for, the common case: 20 bytes in three stores.
            final int head = sack ? SACK_TIMESTAMPS_HEAD : NOP_TIMESTAMPS_HEAD;
            final int wsWord = WINDOW_SCALE_HEAD | windowScale;
            setU64(segment, offset, ((long) mssWord << 32) | (head & 0xffffffffL));
            setU64(segment, offset + 8, ((long) tsValue << 32) | (tsEcho & 0xffffffffL));
            setU32(segment, offset + 16, wsWord);
            return Checksum.sum32(mssWord) + Checksum.sum32(head) + Checksum.sum32(tsValue) + Checksum.sum32(tsEcho)
                + Checksum.sum32(wsWord);
        }
        long at = offset;
        setU32(segment, at, mssWord);
        long sum = Checksum.sum32(mssWord);
        at += 4;
        if (timestamps) {
            final int head = sack ? SACK_TIMESTAMPS_HEAD : NOP_TIMESTAMPS_HEAD;
            setU32(segment, at, head);
            setU32(segment, at + 4, tsValue);
            setU32(segment, at + 8, tsEcho);
            sum += Checksum.sum32(head) + Checksum.sum32(tsValue) + Checksum.sum32(tsEcho);
            at += 12;
        } else if (sack) {
            final int word = (KIND_NOP << 24) | (KIND_NOP << 16) | (KIND_SACK_PERMITTED << 8) | 2;
            setU32(segment, at, word);
            sum += Checksum.sum32(word);
            at += 4;
        }
        if (windowScale >= 0) {
            final int word = WINDOW_SCALE_HEAD | windowScale;
            setU32(segment, at, word);
            sum += Checksum.sum32(word);
        }
        return sum;
    }
}
