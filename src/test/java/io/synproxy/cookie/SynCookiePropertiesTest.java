package io.synproxy.cookie;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SynCookiePropertiesTest {
    private static final byte[] SECRET = new byte[32];
    private static final SaltSchedule SCHEDULE = new SaltSchedule(SECRET, 60, 60);
    private static final long EPOCH = 28_333_333;
    private static final SaltSnapshot NOW = SCHEDULE.snapshot(EPOCH, true);
    private static final SaltSnapshot NEXT = SCHEDULE.snapshot(EPOCH + 1, true);
    private static final SaltSnapshot NEXT_AFTER_GRACE = SCHEDULE.snapshot(EPOCH + 1, false);
    private static final SaltSnapshot TWO_LATER = SCHEDULE.snapshot(EPOCH + 2, true);

    /** Every option combination: 4 MSS indexes x ECN x SACK x 16 window-scale values. */
    private static int combination(final int i) {
        return SynCookie.optionBits(i & 3, (i & 4) != 0, (i & 8) != 0, i >>> 4);
    }

    @Test
    void v4RoundTripsEveryOptionCombination() {
        final SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 256 * 400; i++) {
            final long addresses = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final int options = combination(i & 255);
            final int cookie = SynCookie.issueV4(NOW, addresses, ports, isn, options);
            final int bits = SynCookie.validateV4(NOW, addresses, ports, isn, cookie);
            assertEquals(options | (NOW.currentParity() << 8), bits);
            assertEquals(i & 3, SynCookie.mssIndex(bits));
            assertEquals((i & 4) != 0, SynCookie.ecn(bits));
            assertEquals((i & 8) != 0, SynCookie.sack(bits));
            assertEquals((i >>> 4) & 15, SynCookie.wscale(bits));
        }
    }

    @Test
    void v6RoundTripsEveryOptionCombination() {
        final SplittableRandom random = new SplittableRandom(2);
        for (int i = 0; i < 256 * 400; i++) {
            final long a0 = random.nextLong();
            final long a1 = random.nextLong();
            final long a2 = random.nextLong();
            final long a3 = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final int options = combination(i & 255);
            final int cookie = SynCookie.issueV6(NOW, a0, a1, a2, a3, ports, isn, options);
            assertEquals(options | (NOW.currentParity() << 8),
                SynCookie.validateV6(NOW, a0, a1, a2, a3, ports, isn, cookie));
        }
    }

    @Test
    void previousEpochIsAcceptedWithinGraceOnly() {
        final SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 256 * 40; i++) {
            previousEpochIsAcceptedWithinGraceOnly(random.nextLong(), random.nextInt(), random.nextInt(), i & 255);
        }
    }

    private static void previousEpochIsAcceptedWithinGraceOnly(final long addresses, final int ports, final int isn,
                                                               final int i) {
        final int cookie = SynCookie.issueV4(NOW, addresses, ports, isn, combination(i));
        final SaltSnapshot next = NEXT;
        final SaltSnapshot nextAfterGrace = NEXT_AFTER_GRACE;
        final SaltSnapshot twoLater = TWO_LATER;
        assertTrue(SynCookie.validateV4(next, addresses, ports, isn, cookie) >= 0, "previous epoch, in grace");
        assertEquals(-1, SynCookie.validateV4(nextAfterGrace, addresses, ports, isn, cookie), "after grace");
        assertEquals(-1, SynCookie.validateV4(twoLater, addresses, ports, isn, cookie), "two epochs back");
    }

    @Test
    void scheduleGraceFollowsTheClock() {
        final SaltSchedule schedule = new SaltSchedule(SECRET, 60, 10);
        final long start = schedule.epochStartMillis(EPOCH);
        assertTrue(schedule.snapshotAt(start + 9_999).previousValid());
        assertEquals(false, schedule.snapshotAt(start + 10_000).previousValid());
        assertEquals(EPOCH, schedule.snapshotAt(start + 59_999).epoch());
        assertEquals(EPOCH + 1, schedule.snapshotAt(start + 60_000).epoch());
        // Same secret, same clock: the same keys on every node.
        assertEquals(schedule.snapshotAt(start).currentK0(), new SaltSchedule(SECRET.clone(), 60, 10)
            .snapshotAt(start + 1).currentK0());
    }

    /**
     * Flips every single bit of the tuple, the client ISN and the cookie, over many flows, and counts what still
     * validates. Each flip is an independent forgery with odds 2^-23 (documented in {@link SynCookie}); over 2^21
     * tries, 0.25 are expected, and more than 5 would happen by chance about once in a million runs.
     */
    @Test
    void flippedBitsAreRefusedWithinTheDocumentedOdds() {
        final SplittableRandom random = new SplittableRandom(42);
        long tries = 0;
        long accepted = 0;
        while (tries < (1L << 21)) {
            final long addresses = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final int cookie = SynCookie.issueV4(NOW, addresses, ports, isn, combination(random.nextInt(256)));
            for (int bit = 0; bit < 64; bit++) {
                accepted += accepts(SynCookie.validateV4(NOW, addresses ^ (1L << bit), ports, isn, cookie));
            }
            for (int bit = 0; bit < 32; bit++) {
                accepted += accepts(SynCookie.validateV4(NOW, addresses, ports ^ (1 << bit), isn, cookie));
                accepted += accepts(SynCookie.validateV4(NOW, addresses, ports, isn ^ (1 << bit), cookie));
                accepted += accepts(SynCookie.validateV4(NOW, addresses, ports, isn, cookie ^ (1 << bit)));
            }
            tries += 160;
        }
        assertTrue(accepted <= 5, accepted + " of " + tries + " single-bit forgeries were accepted");
    }

    @Test
    void randomForgedAcksAreAcceptedAtTheDocumentedRate() {
        final SplittableRandom random = new SplittableRandom(43);
        final long tries = 1L << 21;
        long accepted = 0;
        for (long i = 0; i < tries; i++) {
            accepted += accepts(SynCookie.validateV6(NOW, random.nextLong(), random.nextLong(), random.nextLong(),
                random.nextLong(), random.nextInt(), random.nextInt(), random.nextInt()));
        }
        // Expected 2^21 / 2^23 = 0.25 (or half that: half the guesses carry the parity whose key is checked).
        assertTrue(accepted <= 5, accepted + " of " + tries + " random forged ACKs were accepted");
    }

    @Test
    void macBitsAreSpreadAcrossTheirRange() {
        // A MAC that ignored an input, or a broken truncation, would collapse onto few values.
        final java.util.Set<Integer> macs = new java.util.HashSet<>();
        for (int isn = 0; isn < 100_000; isn++) {
            macs.add(SynCookie.issueV4(NOW, 0x0a000001c0a80001L, 0x50005000, isn, 0) >>> SynCookie.MAC_SHIFT);
        }
        assertTrue(macs.size() > 99_000, "only " + macs.size() + " distinct MACs over 100000 ISNs");
    }

    private static int accepts(final int bits) {
        return bits >= 0 ? 1 : 0;
    }
}
