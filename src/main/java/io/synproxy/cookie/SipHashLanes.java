package io.synproxy.cookie;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SipHash-2-4 of many short messages at once, one message per SIMD lane (8 with AVX-512): a burst's cookies (IPv4:
 * three blocks, IPv6: six) and encapsulation authenticators (four, seven). Scalar SipHash is bound by the ALUs here
 * (two interleaved hashes gain only 20%); the lanes do 8 hashes for little more than the cost of one (measured: 2.3
 * ns per IPv4 cookie against 13). Results are bit-identical to {@link SipHash}'s, which tests check for every width.
 */
public final class SipHashLanes {
    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_PREFERRED;
    /** Arrays passed in must be at least {@code count} rounded up to a multiple of this. */
    public static final int LANES = SPECIES.length();

    private SipHashLanes() {
    }

    /** Rounds {@code count} up to whole vectors: the size the lane arrays need. */
    public static int paddedLength(final int count) {
        return (count + LANES - 1) / LANES * LANES;
    }

    /**
     * out[i] = SipHash-2-4 of the message {@code m0[i], m1[i], ..., last[i]} ({@code blocks} blocks with the last:
     * 3, 4, 6 or 7; the unused block arrays may be any) for i < count; lanes past count compute garbage. The key of
     * lane i is {@code k0s[i * keyStride], k1s[i * keyStride]}: stride 1, a key per message (authenticators, keyed per
     * backend); stride 0, one key for all, whose arrays then need {@link #LANES} copies of it (the vector load reads
     * that many).
     */
    public static void hash(final long[] k0s, final long[] k1s, final int keyStride, final int blocks,
                            final long[] m0, final long[] m1, final long[] m2, final long[] m3, final long[] m4,
                            final long[] m5, final long[] last, final long[] out, final int count) {
        if (blocks != 3 && blocks != 4 && blocks != 6 && blocks != 7) {
            throw new IllegalArgumentException("messages of 3, 4, 6 or 7 blocks, not " + blocks);
        }
        hashLanes(k0s, k1s, keyStride, m0, m1, m2, m3, m4, m5, last, blocks, out, count);
    }

    /**
     * SipHash-2-4 of {@code blocks} 8-byte blocks per lane (the last one carrying the length byte). All vector code
     * stays in this one method: vectors handed to a method the JIT does not inline are boxed on the heap.
     */
    private static void hashLanes(final long[] k0s, final long[] k1s, final int keyStride, final long[] m0,
                                  final long[] m1, final long[] m2, final long[] m3, final long[] m4, final long[] m5,
                                  final long[] last, final int blocks, final long[] out, final int count) {
        for (int i = 0; i < count; i += LANES) {
            // One load whatever the stride: a vector chosen between two (broadcast or loaded) would be a phi C2 may
            // box on the heap.
            final LongVector key0 = LongVector.fromArray(SPECIES, k0s, i * keyStride);
            final LongVector key1 = LongVector.fromArray(SPECIES, k1s, i * keyStride);
            LongVector v0 = key0.lanewise(VectorOperators.XOR, 0x736f6d6570736575L);
            LongVector v1 = key1.lanewise(VectorOperators.XOR, 0x646f72616e646f6dL);
            LongVector v2 = key0.lanewise(VectorOperators.XOR, 0x6c7967656e657261L);
            LongVector v3 = key1.lanewise(VectorOperators.XOR, 0x7465646279746573L);
            for (int block = 0; block < blocks; block++) {
                final long[] source = block == blocks - 1 ? last
                    : block == 0 ? m0 : block == 1 ? m1 : block == 2 ? m2 : block == 3 ? m3 : block == 4 ? m4 : m5;
                final LongVector m = LongVector.fromArray(SPECIES, source, i);
                v3 = v3.lanewise(VectorOperators.XOR, m);
                for (int r = 0; r < 2; r++) {
                    v0 = v0.add(v1);
                    v1 = v1.lanewise(VectorOperators.ROL, 13).lanewise(VectorOperators.XOR, v0);
                    v0 = v0.lanewise(VectorOperators.ROL, 32);
                    v2 = v2.add(v3);
                    v3 = v3.lanewise(VectorOperators.ROL, 16).lanewise(VectorOperators.XOR, v2);
                    v0 = v0.add(v3);
                    v3 = v3.lanewise(VectorOperators.ROL, 21).lanewise(VectorOperators.XOR, v0);
                    v2 = v2.add(v1);
                    v1 = v1.lanewise(VectorOperators.ROL, 17).lanewise(VectorOperators.XOR, v2);
                    v2 = v2.lanewise(VectorOperators.ROL, 32);
                }
                v0 = v0.lanewise(VectorOperators.XOR, m);
            }
            // The finalisation's rounds are the compression's, written out again on purpose: a helper taking the
            // four vectors would box them (the JIT does not inline it reliably), costing an allocation a call.
            v2 = v2.lanewise(VectorOperators.XOR, 0xff);
            for (int r = 0; r < 4; r++) {
                v0 = v0.add(v1);
                v1 = v1.lanewise(VectorOperators.ROL, 13).lanewise(VectorOperators.XOR, v0);
                v0 = v0.lanewise(VectorOperators.ROL, 32);
                v2 = v2.add(v3);
                v3 = v3.lanewise(VectorOperators.ROL, 16).lanewise(VectorOperators.XOR, v2);
                v0 = v0.add(v3);
                v3 = v3.lanewise(VectorOperators.ROL, 21).lanewise(VectorOperators.XOR, v0);
                v2 = v2.add(v1);
                v1 = v1.lanewise(VectorOperators.ROL, 17).lanewise(VectorOperators.XOR, v2);
                v2 = v2.lanewise(VectorOperators.ROL, 32);
            }
            v0.lanewise(VectorOperators.XOR, v1).lanewise(VectorOperators.XOR, v2).lanewise(VectorOperators.XOR, v3)
                .intoArray(out, i);
        }
    }
}
