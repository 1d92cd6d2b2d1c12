package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MaglevTest {
    private static final int SIZE = 65537;

    private static List<String> backends(final int n) {
        final List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            names.add("10.0." + (i / 250) + "." + (1 + i % 250));
        }
        return names;
    }

    @Test
    void everyNodeBuildsTheSameTable() {
        assertArrayEquals(Maglev.build(backends(10), SIZE), Maglev.build(new ArrayList<>(backends(10)), SIZE));
    }

    @Test
    void slotsAreSharedEvenly() {
        final int n = 10;
        final int[] owned = new int[n];
        for (final int b : Maglev.build(backends(n), SIZE)) {
            owned[b]++;
        }
        for (int i = 0; i < n; i++) {
            // Maglev's turn-taking keeps every share within a slot or so of M/N, far tighter than this bound.
            assertTrue(Math.abs(owned[i] - SIZE / n) <= SIZE / n / 100, "backend " + i + " owns " + owned[i]);
        }
    }

    @Test
    void removingABackendMovesItsFlowsAndFewOthers() {
        final List<String> before = backends(10);
        final List<String> after = new ArrayList<>(before);
        after.remove(3);
        final int[] t0 = Maglev.build(before, SIZE);
        final int[] t1 = Maglev.build(after, SIZE);
        int movedOthers = 0;
        int others = 0;
        for (int slot = 0; slot < SIZE; slot++) {
            final String was = before.get(t0[slot]);
            final String now = after.get(t1[slot]);
            if (t0[slot] == 3) {
                continue;
            }
            others++;
            if (!was.equals(now)) {
                movedOthers++;
            }
        }
        // The paper reports a few percent of extra disruption at this table size; measured here, bounded at 3%.
        assertTrue(movedOthers < others * 0.03, movedOthers + " of " + others + " slots of surviving backends moved");
    }

    @Test
    void addingABackendTakesAboutItsShare() {
        final List<String> before = backends(9);
        final List<String> after = backends(10);
        final int[] t0 = Maglev.build(before, SIZE);
        final int[] t1 = Maglev.build(after, SIZE);
        int moved = 0;
        for (int slot = 0; slot < SIZE; slot++) {
            if (!before.get(t0[slot]).equals(after.get(t1[slot]))) {
                moved++;
            }
        }
        final double share = (double) moved / SIZE;
        assertTrue(share >= 0.09 && share < 0.13, "adding 1 to 9 backends moved " + share + " of the slots");
    }

    @Test
    void slotMapsTheWholeHashRange() {
        assertEquals(0, Maglev.slot(0L, SIZE));
        assertEquals(SIZE - 1, Maglev.slot(-1L, SIZE));
    }
}
