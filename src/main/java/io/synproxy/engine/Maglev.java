package io.synproxy.engine;

import io.synproxy.cookie.SipHash;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size M in which every backend
 * claims slots along its own permutation, taking turns, so each backend owns about M/N slots, every node that knows
 * the same backend names builds the same table, and removing a backend moves only the flows that were on it (plus a
 * small fraction, bounded in the paper and measured in the tests).
 *
 * <p>Permutation offsets and skips come from SipHash with fixed public keys over the backend's name (its address as
 * text): they need to be the same everywhere and stable across secret rotations, not secret.
 */
public final class Maglev {
    private static final long OFFSET_K0 = 0x6d61676c65762d6fL;
    private static final long OFFSET_K1 = 0x66667365742d6b31L;
    private static final long SKIP_K0 = 0x6d61676c65762d73L;
    private static final long SKIP_K1 = 0x6b69702d6b65792dL;

    private Maglev() {
    }

    /** Builds the table: entry i is the index into {@code names} of the backend owning slot i. */
    public static int[] build(final List<String> names, final int size) {
        final int n = names.size();
        if (n == 0) {
            throw new IllegalArgumentException("Maglev needs at least one backend");
        }
        final long[] offset = new long[n];
        final long[] skip = new long[n];
        for (int i = 0; i < n; i++) {
            final byte[] name = names.get(i).getBytes(StandardCharsets.UTF_8);
            offset[i] = Long.remainderUnsigned(SipHash.hash(OFFSET_K0, OFFSET_K1, name, 0, name.length), size);
            skip[i] = Long.remainderUnsigned(SipHash.hash(SKIP_K0, SKIP_K1, name, 0, name.length), size - 1) + 1;
        }
        final int[] table = new int[size];
        java.util.Arrays.fill(table, -1);
        final long[] next = new long[n];
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                long slot = (offset[i] + next[i] * skip[i]) % size;
                while (table[(int) slot] >= 0) {
                    next[i]++;
                    slot = (offset[i] + next[i] * skip[i]) % size;
                }
                table[(int) slot] = i;
                next[i]++;
                if (++filled == size) {
                    return table;
                }
            }
        }
    }

    /** The slot of a 64-bit hash in a table of {@code size}: a multiply and shift (Lemire), no division. */
    public static int slot(final long hash, final int size) {
        return (int) (((hash >>> 32) * size) >>> 32);
    }
}
