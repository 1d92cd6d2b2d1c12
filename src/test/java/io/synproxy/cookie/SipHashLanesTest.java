package io.synproxy.cookie;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every lane of every message width against the scalar SipHash, for every batch size a burst can have. */
class SipHashLanesTest {
    @ParameterizedTest(name = "{0} blocks")
    @ValueSource(ints = {3, 4, 6, 7})
    void everyLaneMatchesTheScalarHash(final int blocks) {
        final SplittableRandom random = new SplittableRandom(blocks);
        for (int count = 1; count <= 64; count++) {
            final int padded = SipHashLanes.paddedLength(count);
            // m[0..blocks-2] are the message blocks, m[blocks-1] the last one.
            final long[][] m = new long[blocks][padded];
            final long[] out = new long[padded];
            for (int i = 0; i < count; i++) {
                for (final long[] block : m) {
                    block[i] = random.nextLong();
                }
                if (blocks == 3) {
                    m[2][i] = SipHash.finalBlock(random.nextInt(512), 18);
                }
            }
            final long k0 = random.nextLong();
            final long k1 = random.nextLong();
            switch (blocks) {
                case 3 -> SipHashLanes.hash3(k0, k1, m[0], m[1], m[2], out, count);
                case 4 -> SipHashLanes.hash4(k0, k1, m[0], m[1], m[2], m[3], out, count);
                case 6 -> SipHashLanes.hash6(k0, k1, m[0], m[1], m[2], m[3], m[4], m[5], out, count);
                default -> SipHashLanes.hash7(k0, k1, m[0], m[1], m[2], m[3], m[4], m[5], m[6], out, count);
            }
            for (int i = 0; i < count; i++) {
                final long expected = switch (blocks) {
                    case 3 -> SipHash.hash3(k0, k1, m[0][i], m[1][i], m[2][i]);
                    case 4 -> SipHash.hash4(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i]);
                    case 6 -> SipHash.hash6(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i], m[4][i], m[5][i]);
                    default -> SipHash.hash7(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i], m[4][i], m[5][i], m[6][i]);
                };
                assertEquals(expected, out[i], "lane " + i + " of " + count);
            }
        }
    }
}
