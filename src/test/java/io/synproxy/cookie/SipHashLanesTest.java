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
            // One key for all (stride 0), then a key per lane (stride 1).
            for (final int stride : new int[] {0, 1}) {
                final long[] k0s = new long[padded];
                final long[] k1s = new long[padded];
                for (int i = 0; i < padded; i++) {
                    k0s[i] = stride == 0 && i > 0 ? k0s[0] : random.nextLong();
                    k1s[i] = stride == 0 && i > 0 ? k1s[0] : random.nextLong();
                }
                final long[] last = m[blocks - 1];
                SipHashLanes.hash(k0s, k1s, stride, blocks, m[0], m[1], blocks > 3 ? m[2] : last,
                    blocks > 4 ? m[3] : last, blocks > 4 ? m[4] : last, blocks > 6 ? m[5] : last, last, out, count);
                for (int i = 0; i < count; i++) {
                    final long k0 = k0s[i * stride];
                    final long k1 = k1s[i * stride];
                    final long expected = switch (blocks) {
                        case 3 -> SipHash.hash3(k0, k1, m[0][i], m[1][i], m[2][i]);
                        case 4 -> SipHash.hash4(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i]);
                        case 6 -> SipHash.hash6(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i], m[4][i], m[5][i]);
                        default -> SipHash.hash7(k0, k1, m[0][i], m[1][i], m[2][i], m[3][i], m[4][i], m[5][i],
                            m[6][i]);
                    };
                    assertEquals(expected, out[i], "stride " + stride + ": lane " + i + " of " + count);
                }
            }
        }
    }
}
