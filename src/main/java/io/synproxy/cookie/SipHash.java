package io.synproxy.cookie;

/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit PRF, fast on short inputs.
 *
 * <p>The fast path never hashes a byte array: callers assemble the message as little-endian 64-bit words in local
 * variables and call the fixed-arity {@code hashN} methods, which keep the whole state in registers. The last word
 * passed to each of them is SipHash's final block: up to seven tail bytes in its low bits and the message length in
 * bytes, modulo 256, in its top byte ({@link #finalBlock}). The byte-array {@link #hash(long, long, byte[], int, int)}
 * is the reference the specialised versions are tested against.
 */
public final class SipHash {
    private static final long V0 = 0x736f6d6570736575L;
    private static final long V1 = 0x646f72616e646f6dL;
    private static final long V2 = 0x6c7967656e657261L;
    private static final long V3 = 0x7465646279746573L;

    private SipHash() {
    }

    /** The final block for a message of {@code length} bytes whose last {@code length % 8} bytes are {@code tail}. */
    public static long finalBlock(final long tail, final int length) {
        return tail | ((long) length << 56);
    }

    /** A message of two full words plus the final block (16..23 bytes). */
    public static long hash3(final long k0, final long k1, final long m0, final long m1, final long last) {
        return hash(k0, k1, m0, m1, last, 0, 0, 0, 0, 3);
    }

    /** A message of three full words plus the final block (24..31 bytes). */
    public static long hash4(final long k0, final long k1, final long m0, final long m1, final long m2,
                             final long last) {
        return hash(k0, k1, m0, m1, m2, last, 0, 0, 0, 4);
    }

    /** A message of five full words plus the final block (40..47 bytes). */
    public static long hash6(final long k0, final long k1, final long m0, final long m1, final long m2,
                             final long m3, final long m4, final long last) {
        return hash(k0, k1, m0, m1, m2, m3, m4, last, 0, 6);
    }

    /** A message of six full words plus the final block (48..55 bytes). */
    public static long hash7(final long k0, final long k1, final long m0, final long m1, final long m2,
                             final long m3, final long m4, final long m5, final long last) {
        return hash(k0, k1, m0, m1, m2, m3, m4, m5, last, 7);
    }

    /**
     * Up to seven blocks, the last of them the final block; {@code blocks} says how many are used. The constant
     * {@code blocks} of each caller lets the JIT unroll the loop and fold the block selection away.
     */
    private static long hash(final long k0, final long k1, final long m0, final long m1, final long m2,
                             final long m3, final long m4, final long m5, final long m6, final int blocks) {
        long v0 = V0 ^ k0, v1 = V1 ^ k1, v2 = V2 ^ k0, v3 = V3 ^ k1;
        for (int b = 0; b < blocks; b++) {
            final long m = b == 0 ? m0 : b == 1 ? m1 : b == 2 ? m2 : b == 3 ? m3 : b == 4 ? m4 : b == 5 ? m5 : m6;
            v3 ^= m;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) {
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    /** Reference SipHash-2-4 over {@code length} bytes of {@code data} from {@code offset}; not for the fast path. */
    public static long hash(final long k0, final long k1, final byte[] data, final int offset, final int length) {
        long v0 = V0 ^ k0, v1 = V1 ^ k1, v2 = V2 ^ k0, v3 = V3 ^ k1;
        final int full = length & ~7;
        for (int i = 0; i <= full; i += 8) {
            final long m;
            if (i < full) {
                m = littleEndianLong(data, offset + i, 8);
            } else {
                m = finalBlock(littleEndianLong(data, offset + i, length - full), length);
            }
            v3 ^= m;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) {
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    /** The 16-byte key as SipHash reads it: two little-endian words. */
    public static long keyWord(final byte[] key16, final int word) {
        return littleEndianLong(key16, word * 8, 8);
    }

    private static long littleEndianLong(final byte[] data, final int offset, final int count) {
        long value = 0;
        for (int i = 0; i < count; i++) {
            value |= (data[offset + i] & 0xffL) << (8 * i);
        }
        return value;
    }
}
