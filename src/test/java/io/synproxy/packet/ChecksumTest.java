package io.synproxy.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The word-wise sums and the carry tricks of {@link Checksum} against RFC 1071 done the slow way, 16 bits at a time. */
class ChecksumTest {
    /** RFC 1071's loop: add 16-bit big-endian words, fold carries until none is left. */
    private static int referenceFold(final long sum) {
        long s = sum;
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    private static int referenceSum(final byte[] data) {
        long s = 0;
        for (int i = 0; i < data.length; i += 2) {
            final int high = data[i] & 0xff;
            final int low = i + 1 < data.length ? data[i + 1] & 0xff : 0;
            s += (high << 8) | low;
        }
        return referenceFold(s);
    }

    @Test
    void foldMatchesTheSlowFoldAtTheCarryEdges() {
        final long[] edges = {0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xffff_ffffL, 0x1_0000_0000L,
            0x1_ffff_fffeL, 0xffff_ffff_ffffL, 0x0000_ffff_0000_ffffL, 0x7fff_ffff_ffff_ffffL, -1L, 0xffff_0000_0000_0000L};
        for (final long e : edges) {
            assertEquals(referenceFold(e), Checksum.fold(e), () -> "fold of 0x" + Long.toHexString(e));
        }
    }

    @Test
    void foldMatchesTheSlowFoldForRandomSums() {
        final Random random = new Random(20261125);
        for (int i = 0; i < 1_000_000; i++) {
            // Sums of up to 2^16 32-bit words: far beyond any packet, and every bit pattern of the low words.
            final long sum = random.nextLong() >>> random.nextInt(64);
            assertEquals(referenceFold(sum), Checksum.fold(sum), () -> "fold of 0x" + Long.toHexString(sum));
        }
    }

    @Test
    void sumOfBytesMatchesRfc1071ForEveryLengthAndAlignment() {
        final Random random = new Random(1071);
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment segment = arena.allocate(128);
            for (int length = 0; length <= 64; length++) {
                for (int offset = 0; offset < 8; offset++) {
                    final byte[] data = new byte[length];
                    random.nextBytes(data);
                    MemorySegment.copy(data, 0, segment, ValueLayout.JAVA_BYTE, offset, length);
                    assertEquals(referenceSum(data), Checksum.fold(Checksum.sum(segment, offset, length)),
                        "length " + length + " at offset " + offset);
                }
            }
        }
    }

    @Test
    void aHeaderWithItsChecksumVerifiesAndOneFlippedBitDoesNot() {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment ip = arena.allocate(Ipv4Header.MIN_LENGTH);
            Ipv4Header.write(ip, 0, 0, 60, 64, Ipv4Header.PROTOCOL_TCP, 0xc0000201, 0xc6336401);
            assertTrue(Checksum.verifies(Checksum.sum(ip, 0, Ipv4Header.MIN_LENGTH)));
            ip.set(ValueLayout.JAVA_BYTE, 15, (byte) (ip.get(ValueLayout.JAVA_BYTE, 15) ^ 4));
            assertFalse(Checksum.verifies(Checksum.sum(ip, 0, Ipv4Header.MIN_LENGTH)));
        }
    }
}
