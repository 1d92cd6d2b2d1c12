package io.synproxy.cookie;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SipHashLanesTest {
    @Test
    void everyLaneMatchesTheScalarHash() {
        final SplittableRandom random = new SplittableRandom(11);
        for (int count = 1; count <= 64; count++) {
            final int padded = SipHashLanes.paddedLength(count);
            final long[] m0 = new long[padded];
            final long[] m1 = new long[padded];
            final long[] last = new long[padded];
            final long[] out = new long[padded];
            for (int i = 0; i < count; i++) {
                m0[i] = random.nextLong();
                m1[i] = random.nextLong();
                last[i] = SipHash.finalBlock(random.nextInt(512), 18);
            }
            final long k0 = random.nextLong();
            final long k1 = random.nextLong();
            SipHashLanes.hash3(k0, k1, m0, m1, last, out, count);
            for (int i = 0; i < count; i++) {
                assertEquals(SipHash.hash3(k0, k1, m0[i], m1[i], last[i]), out[i], "lane " + i + " of " + count);
            }
        }
    }

    @Test
    void everyLaneOfTheFourBlockHashMatchesTheScalarHash() {
        final SplittableRandom random = new SplittableRandom(12);
        for (int count = 1; count <= 64; count++) {
            final int padded = SipHashLanes.paddedLength(count);
            final long[] m0 = new long[padded];
            final long[] m1 = new long[padded];
            final long[] m2 = new long[padded];
            final long[] last = new long[padded];
            final long[] out = new long[padded];
            for (int i = 0; i < count; i++) {
                m0[i] = random.nextLong();
                m1[i] = random.nextLong();
                m2[i] = random.nextLong();
                last[i] = random.nextLong();
            }
            final long k0 = random.nextLong();
            final long k1 = random.nextLong();
            SipHashLanes.hash4(k0, k1, m0, m1, m2, last, out, count);
            for (int i = 0; i < count; i++) {
                assertEquals(SipHash.hash4(k0, k1, m0[i], m1[i], m2[i], last[i]), out[i],
                    "lane " + i + " of " + count);
            }
        }
    }

    @Test
    void everyLaneOfTheSixBlockHashMatchesTheScalarHash() {
        final SplittableRandom random = new SplittableRandom(13);
        for (int count = 1; count <= 64; count++) {
            final int padded = SipHashLanes.paddedLength(count);
            final long[][] m = new long[5][padded];
            final long[] last = new long[padded];
            final long[] out = new long[padded];
            for (int i = 0; i < count; i++) {
                for (final long[] block : m) {
                    block[i] = random.nextLong();
                }
                last[i] = random.nextLong();
            }
            final long k0 = random.nextLong();
            final long k1 = random.nextLong();
            SipHashLanes.hash6(k0, k1, m[0], m[1], m[2], m[3], m[4], last, out, count);
            for (int i = 0; i < count; i++) {
                assertEquals(SipHash.hash6(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i], m[4][i], last[i]), out[i],
                    "lane " + i + " of " + count);
            }
        }
    }

    @Test
    void everyLaneOfTheSevenBlockHashMatchesTheScalarHash() {
        final SplittableRandom random = new SplittableRandom(14);
        for (int count = 1; count <= 64; count++) {
            final int padded = SipHashLanes.paddedLength(count);
            final long[][] m = new long[6][padded];
            final long[] last = new long[padded];
            final long[] out = new long[padded];
            for (int i = 0; i < count; i++) {
                for (final long[] block : m) {
                    block[i] = random.nextLong();
                }
                last[i] = random.nextLong();
            }
            final long k0 = random.nextLong();
            final long k1 = random.nextLong();
            SipHashLanes.hash7(k0, k1, m[0], m[1], m[2], m[3], m[4], m[5], last, out, count);
            for (int i = 0; i < count; i++) {
                assertEquals(SipHash.hash7(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i], m[4][i], m[5][i], last[i]),
                    out[i], "lane " + i + " of " + count);
            }
        }
    }
}
