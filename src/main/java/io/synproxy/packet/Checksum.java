package io.synproxy.packet;


import static io.synproxy.packet.Bytes.getU16;
import static io.synproxy.packet.Bytes.getU32;
import static io.synproxy.packet.Bytes.getU64;
import static io.synproxy.packet.Bytes.getU8;

import java.lang.foreign.MemorySegment;

/**
 * The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit words. Sums are carried unfolded in a
 * {@code long}, adding 32-bit words (the ones'-complement sum is the same over any word size once folded), and folded
 * once at the end; callers add partial sums of values they already hold in registers instead of re-reading memory.
 */
public final class Checksum {
    private Checksum() {
    }

    /** Unfolded sum of {@code length} bytes at {@code offset}; an odd last byte is padded with zero, as RFC 1071 says. */
    public static long sum(final MemorySegment segment, final long offset, final int length) {
        long sum = 0;
        int i = 0;
        // 8-byte loads, each folded into two 32-bit halves: no carries are lost in 64 bits for any IP packet.
        for (; i + 8 <= length; i += 8) {
            final long word = getU64(segment, offset + i);
            sum += (word >>> 32) + (word & 0xffffffffL);
        }
        if (i + 4 <= length) {
            sum += getU32(segment, offset + i) & 0xffffffffL;
            i += 4;
        }
        if (i + 2 <= length) {
            sum += getU16(segment, offset + i) & 0xffff;
            i += 2;
        }
        if (i < length) {
            sum += (getU8(segment, offset + i) & 0xff) << 8;
        }
        return sum;
    }

    /** Unfolded sum of a 32-bit value's two 16-bit halves. */
    public static long sum32(final int value) {
        return value & 0xffffffffL;
    }

    /** Unfolded sum of a 64-bit value's four 16-bit words. */
    public static long sum64(final long value) {
        return (value >>> 32) + (value & 0xffffffffL);
    }

    /** Folds an unfolded sum to 16 bits (end-around carry). */
    public static int fold(final long sum) {
        // 64 -> 32 bits: two end-around additions of the halves (the first leaves at most 33 bits).
        long s = (sum & 0xffffffffL) + (sum >>> 32);
        s = (s & 0xffffffffL) + (s >>> 32);
        // 32 -> 16 bits: in x + (x rotated by 16) the upper half is high + low + the carry out of low + high, which
        // is the end-around sum of the two halves (Linux's csum_fold does the same).
        final int x = (int) s;
        return (x + Integer.rotateLeft(x, 16)) >>> 16;
    }

    /** The checksum field's value for data whose unfolded sum (checksum field zero) is {@code sum}. */
    public static int finish(final long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** True when data that includes its checksum field sums to 0xffff, i.e. the checksum is right. */
    public static boolean verifies(final long sumIncludingChecksum) {
        return fold(sumIncludingChecksum) == 0xffff;
    }
}
