package io.synproxy.cookie;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** Validates an IPv4 ACK that echoes our TSval, as a client with timestamps does. */
    private static long validateEchoing(final SaltSnapshot salts, final long addresses, final int ports,
                                        final int isn, final long issued) {
        return SynCookie.validateV4(salts, addresses, ports, isn, SynCookie.cookieOf(issued), true,
            SynCookie.tsValueOf(issued));
    }

    @Test
    void v4RoundTripsEveryOptionCombination() {
        final SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 256 * 400; i++) {
            final long addresses = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final int options = combination(i & 255);
            final long issued = SynCookie.issueV4(NOW, addresses, ports, isn, options);
            final int cookie = SynCookie.cookieOf(issued);
            assertEquals(EPOCH, validateEchoing(NOW, addresses, ports, isn, issued));
            assertEquals(EPOCH, SynCookie.validateV4(NOW, addresses, ports, isn, cookie, false, 0),
                "a client without timestamps");
            final int bits = cookie & SynCookie.OPTION_MASK;
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
            final long issued = SynCookie.issueV6(NOW, a0, a1, a2, a3, ports, isn, options);
            final int cookie = SynCookie.cookieOf(issued);
            assertEquals(options | (NOW.currentParity() << 8), cookie & SynCookie.OPTION_MASK);
            assertEquals(EPOCH, SynCookie.validateV6(NOW, a0, a1, a2, a3, ports, isn, cookie, true,
                SynCookie.tsValueOf(issued)));
        }
    }

    @Test
    void previousEpochIsAcceptedWithinGraceOnly() {
        final SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 256 * 40; i++) {
            final long addresses = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final long issued = SynCookie.issueV4(NOW, addresses, ports, isn, combination(i & 255));
            assertEquals(EPOCH, validateEchoing(NEXT, addresses, ports, isn, issued), "previous epoch, in grace");
            assertEquals(-1, validateEchoing(NEXT_AFTER_GRACE, addresses, ports, isn, issued), "after grace");
            assertEquals(-1, validateEchoing(TWO_LATER, addresses, ports, isn, issued), "two epochs back");
        }
    }

    /**
     * Two nodes whose clocks differ by 30 ms around a boundary, with a 500 ms skew bound: a cookie the node ahead issued
     * 20 ms into a new epoch validates on the node still 10 ms before that boundary (the next epoch's key), and a
     * cookie the node behind issued just before it validates on the node ahead (the previous epoch's, within grace).
     * Without the skew bound the first is refused: the bug this fixes.
     */
    @Test
    void nodesWhoseClocksDifferAcceptEachOthersCookiesAroundABoundary() {
        final SaltSchedule skewed = new SaltSchedule(SECRET, 60, 60, 500);
        final SaltSchedule exact = new SaltSchedule(SECRET, 60, 60, 0);
        final long boundary = skewed.epochStartMillis(EPOCH + 1);
        final SplittableRandom random = new SplittableRandom(4);
        for (int i = 0; i < 10_000; i++) {
            final long addresses = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final long aheadIssued = SynCookie.issueV4(skewed.snapshotAt(boundary + 20), addresses, ports, isn,
                combination(i & 255));
            assertEquals(EPOCH + 1, validateEchoing(skewed.snapshotAt(boundary - 10), addresses, ports, isn,
                aheadIssued), "issued ahead, validated behind");
            assertEquals(-1, validateEchoing(exact.snapshotAt(boundary - 10), addresses, ports, isn, aheadIssued),
                "without the skew bound the node behind refuses it");
            final long behindIssued = SynCookie.issueV4(skewed.snapshotAt(boundary - 10), addresses, ports, isn,
                combination(i & 255));
            assertEquals(EPOCH, validateEchoing(skewed.snapshotAt(boundary + 20), addresses, ports, isn,
                behindIssued), "issued behind, validated ahead");
            // Outside the bound, the next epoch's key is not tried.
            assertEquals(-1, validateEchoing(skewed.snapshotAt(boundary - 501), addresses, ports, isn,
                aheadIssued), "more than the skew bound before the boundary");
        }
    }

    @Test
    void theNextEpochsKeyOpensOnlyWithinTheSkewBound() {
        final SaltSchedule schedule = new SaltSchedule(SECRET, 60, 60, 500);
        final long end = schedule.epochStartMillis(EPOCH + 1);
        assertFalse(schedule.snapshotAt(end - 501).nextValid());
        assertTrue(schedule.snapshotAt(end - 500).nextValid());
        assertTrue(schedule.snapshotAt(end - 1).nextValid());
        assertFalse(schedule.snapshotAt(end).nextValid());
        assertEquals(end - 500, schedule.nextChangeMillis(end - 30_000), "the control thread publishes at the opening");
        assertEquals(schedule.snapshot(EPOCH + 1, false).currentK0(), schedule.snapshotAt(end - 1).nextK0());
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
     * validates without timestamps. Each flip is an independent forgery with odds 2^-23 (documented in
     * {@link SynCookie}); over 2^21 tries, 0.25 are expected, and more than 5 would happen by chance about once in a
     * million runs.
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
            final int cookie = SynCookie.cookieOf(SynCookie.issueV4(NOW, addresses, ports, isn,
                combination(random.nextInt(256))));
            for (int bit = 0; bit < 64; bit++) {
                accepted += accepts(SynCookie.validateV4(NOW, addresses ^ (1L << bit), ports, isn, cookie, false, 0));
            }
            for (int bit = 0; bit < 32; bit++) {
                accepted += accepts(SynCookie.validateV4(NOW, addresses, ports ^ (1 << bit), isn, cookie, false, 0));
                accepted += accepts(SynCookie.validateV4(NOW, addresses, ports, isn ^ (1 << bit), cookie, false, 0));
                accepted += accepts(SynCookie.validateV4(NOW, addresses, ports, isn, cookie ^ (1 << bit), false, 0));
            }
            tries += 160;
        }
        assertTrue(accepted <= 5, accepted + " of " + tries + " single-bit forgeries were accepted");
    }

    /**
     * With timestamps the echo is part of the MAC: flipping any single TSecr bit of a genuine ACK (whose cookie is
     * right) is refused every time, and so is any TSecr at all for a forged cookie that happened to match.
     */
    @Test
    void aFlippedTsEchoIsRefused() {
        final SplittableRandom random = new SplittableRandom(44);
        for (int i = 0; i < 20_000; i++) {
            final long addresses = random.nextLong();
            final int ports = random.nextInt();
            final int isn = random.nextInt();
            final long issued = SynCookie.issueV4(NOW, addresses, ports, isn, combination(random.nextInt(256)));
            final int cookie = SynCookie.cookieOf(issued);
            final int echo = SynCookie.tsValueOf(issued);
            assertEquals(EPOCH, SynCookie.validateV4(NOW, addresses, ports, isn, cookie, true, echo));
            for (int bit = 0; bit < 32; bit++) {
                assertEquals(-1, SynCookie.validateV4(NOW, addresses, ports, isn, cookie, true, echo ^ (1 << bit)),
                    "TSecr bit " + bit + " flipped");
            }
            final long a0 = random.nextLong();
            final long v6 = SynCookie.issueV6(NOW, a0, 1, 2, 3, ports, isn, 0);
            assertEquals(-1, SynCookie.validateV6(NOW, a0, 1, 2, 3, ports, isn, SynCookie.cookieOf(v6), true,
                SynCookie.tsValueOf(v6) ^ (1 << (i & 31))));
        }
    }

    @Test
    void ourTsValueDoesNotShowTheClock() {
        // Linux-style TSval = clock + offset would make TSval - ISN the same for every connection at one instant.
        final java.util.Set<Integer> differences = new java.util.HashSet<>();
        final SplittableRandom random = new SplittableRandom(45);
        for (int i = 0; i < 10_000; i++) {
            final long issued = SynCookie.issueV4(NOW, random.nextLong(), random.nextInt(), random.nextInt(), 0);
            differences.add(SynCookie.tsValueOf(issued) - SynCookie.cookieOf(issued));
        }
        assertTrue(differences.size() > 9_990, "TSval - ISN took only " + differences.size() + " values");
    }

    @Test
    void randomForgedAcksAreAcceptedAtTheDocumentedRate() {
        final SplittableRandom random = new SplittableRandom(43);
        final long tries = 1L << 21;
        long accepted = 0;
        for (long i = 0; i < tries; i++) {
            accepted += accepts(SynCookie.validateV6(NOW, random.nextLong(), random.nextLong(), random.nextLong(),
                random.nextLong(), random.nextInt(), random.nextInt(), random.nextInt(), false, 0));
        }
        // Expected 2^21 / 2^23 = 0.25 (or half that: half the guesses carry the parity whose key is checked).
        assertTrue(accepted <= 5, accepted + " of " + tries + " random forged ACKs were accepted");
    }

    @Test
    void macBitsAreSpreadAcrossTheirRange() {
        // A MAC that ignored an input, or a broken truncation, would collapse onto few values.
        final java.util.Set<Integer> macs = new java.util.HashSet<>();
        for (int isn = 0; isn < 100_000; isn++) {
            macs.add(SynCookie.cookieOf(SynCookie.issueV4(NOW, 0x0a000001c0a80001L, 0x50005000, isn, 0))
                >>> SynCookie.MAC_SHIFT);
        }
        assertTrue(macs.size() > 99_000, "only " + macs.size() + " distinct MACs over 100000 ISNs");
    }

    private static int accepts(final long epoch) {
        return epoch >= 0 ? 1 : 0;
    }
}
