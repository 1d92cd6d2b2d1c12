package io.synproxy.cookie;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Rolling salts derived from one master secret and the clock, so that every proxy node with the same secret and a
 * synchronised clock holds the same salts without talking to the others.
 *
 * <p>Epoch {@code e = floor(unix_time / period)}. The salt of epoch {@code e} is the 128-bit SipHash key
 * <pre>
 *   HKDF-Expand-SHA256(PRK = master secret, info = "synproxy cookie salt v1" || e as 8 bytes big-endian, L = 16)
 * </pre>
 * (the secret is uniformly random, at least 128 bits, so it serves as the pseudo-random key directly; for L &lt;= 32
 * HKDF-Expand is a single HMAC over {@code info || 0x01}). A cookie issued in epoch {@code e} validates until the end
 * of epoch {@code e + 1} at the latest, and only until {@code grace} into it: a validity window between
 * {@code grace} and {@code period + grace}.
 *
 * <p>Clocks of proxy nodes differ by up to {@code maxSkew}: a node whose clock runs ahead issues cookies of epoch
 * {@code e + 1} while the others are still in {@code e}. So in the last {@code maxSkew} of an epoch the next epoch's
 * key validates too; and the grace must be at least {@code maxSkew}, or a node running behind would refuse every
 * handshake that crosses a boundary (the configuration refuses that).
 *
 * <p>Runs on the control thread (JCE allocates); workers only ever see the finished {@link SaltSnapshot}.
 */
public final class SaltSchedule {
    private static final byte[] SALT_INFO = "synproxy cookie salt v1".getBytes(StandardCharsets.US_ASCII);

    private final byte[] secret;
    private final long periodMillis;
    private final long graceMillis;
    private final long maxSkewMillis;
    /** Another secret's schedule, accepted alongside (a key rotation's overlap), or null. */
    private SaltSchedule alternate;

    /** A schedule for nodes whose clocks agree exactly (tests). */
    public SaltSchedule(final byte[] secret, final long periodSeconds, final long graceSeconds) {
        this(secret, periodSeconds, graceSeconds, 0);
    }

    public SaltSchedule(final byte[] secret, final long periodSeconds, final long graceSeconds,
                        final long maxSkewMillis) {
        if (secret.length < MasterSecret.MIN_BYTES) {
            throw new IllegalArgumentException("secret must have at least " + MasterSecret.MIN_BYTES + " bytes");
        }
        if (periodSeconds < 1 || graceSeconds < 0 || graceSeconds > periodSeconds) {
            throw new IllegalArgumentException("need period >= 1 s and 0 <= grace <= period");
        }
        if (maxSkewMillis < 0 || maxSkewMillis > graceSeconds * 1000 || 2 * maxSkewMillis > periodSeconds * 1000) {
            throw new IllegalArgumentException("need 0 <= max skew <= grace and max skew <= period / 2");
        }
        this.secret = secret.clone();
        this.periodMillis = periodSeconds * 1000;
        this.graceMillis = graceSeconds * 1000;
        this.maxSkewMillis = maxSkewMillis;
    }

    /** This schedule with {@code other}'s salts accepted too (same period, grace and skew). */
    public SaltSchedule withAlternate(final SaltSchedule other) {
        final SaltSchedule both = new SaltSchedule(secret, periodMillis / 1000, graceMillis / 1000, maxSkewMillis);
        both.alternate = other;
        return both;
    }

    /** The schedule accepted alongside, or null. */
    public SaltSchedule alternate() {
        return alternate;
    }

    public long periodMillis() {
        return periodMillis;
    }

    public long epochAt(final long unixMillis) {
        return Math.floorDiv(unixMillis, periodMillis);
    }

    /** Unix time in milliseconds at which {@code epoch} starts. */
    public long epochStartMillis(final long epoch) {
        return epoch * periodMillis;
    }

    /** True while the previous epoch's cookies are still accepted at {@code unixMillis}. */
    public boolean previousValidAt(final long unixMillis) {
        return unixMillis - epochStartMillis(epochAt(unixMillis)) < graceMillis;
    }

    /** True within the skew bound before the next epoch: cookies a node running ahead issued are accepted. */
    public boolean nextValidAt(final long unixMillis) {
        return maxSkewMillis > 0 && epochStartMillis(epochAt(unixMillis) + 1) - unixMillis <= maxSkewMillis;
    }

    /**
     * A number that changes exactly when the keys in force change: a new epoch, the end of a grace, or the opening of
     * the next epoch's key.
     */
    public long stateAt(final long unixMillis) {
        return epochAt(unixMillis) * 4 + (previousValidAt(unixMillis) ? 2 : 0) + (nextValidAt(unixMillis) ? 1 : 0);
    }

    /** The first instant after {@code unixMillis} at which {@link #stateAt} changes. */
    public long nextChangeMillis(final long unixMillis) {
        final long start = epochStartMillis(epochAt(unixMillis));
        final long end = start + periodMillis;
        long change = end;
        if (unixMillis < start + graceMillis) {
            change = Math.min(change, start + graceMillis);
        }
        if (maxSkewMillis > 0 && unixMillis < end - maxSkewMillis) {
            change = Math.min(change, end - maxSkewMillis);
        }
        return change;
    }

    /** The keys in force at {@code unixMillis}. */
    public SaltSnapshot snapshotAt(final long unixMillis) {
        return snapshot(epochAt(unixMillis), previousValidAt(unixMillis), nextValidAt(unixMillis));
    }

    public SaltSnapshot snapshot(final long epoch, final boolean previousValid) {
        return snapshot(epoch, previousValid, false);
    }

    public SaltSnapshot snapshot(final long epoch, final boolean previousValid, final boolean nextValid) {
        final byte[] current = salt(epoch);
        final byte[] previous = salt(epoch - 1);
        final byte[] next = salt(epoch + 1);
        final SaltSnapshot snapshot = new SaltSnapshot(epoch, SipHash.keyWord(current, 0), SipHash.keyWord(current, 1),
            SipHash.keyWord(previous, 0), SipHash.keyWord(previous, 1), previousValid,
            SipHash.keyWord(next, 0), SipHash.keyWord(next, 1), nextValid, epochStartMillis(epoch + 1));
        return alternate == null ? snapshot : snapshot.withAlternate(alternate.snapshot(epoch, previousValid,
            nextValid));
    }

    /** The 16-byte salt of {@code epoch}. */
    public byte[] salt(final long epoch) {
        return hkdfExpand(secret, ByteBuffer.allocate(SALT_INFO.length + Long.BYTES).put(SALT_INFO).putLong(epoch)
            .array(), 16);
    }

    /** HKDF-Expand (RFC 5869) with SHA-256, for {@code length <= 32}. */
    public static byte[] hkdfExpand(final byte[] prk, final byte[] info, final int length) {
        try {
            final Mac hmac = Mac.getInstance("HmacSHA256");
            hmac.init(new SecretKeySpec(prk, "HmacSHA256"));
            hmac.update(info);
            hmac.update((byte) 1);
            final byte[] block = hmac.doFinal();
            final byte[] out = new byte[length];
            System.arraycopy(block, 0, out, 0, length);
            return out;
        } catch (final GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }

    /** A value derived from the secret for another purpose than salts, e.g. the flow-hash seed. */
    public static byte[] derive(final byte[] secret, final String label, final int length) {
        return hkdfExpand(secret, label.getBytes(StandardCharsets.US_ASCII), length);
    }

    @Override
    public String toString() {
        return "SaltSchedule{period=" + periodMillis / 1000 + "s, grace=" + graceMillis / 1000 + "s, maxSkew="
            + maxSkewMillis + "ms, secret="
            + fingerprint(secret) + '}';
    }

    /** A short fingerprint of a secret, for logs: the first 4 bytes of its SHA-256, never the secret itself. */
    public static String fingerprint(final byte[] secret) {
        try {
            final byte[] digest = MessageDigest.getInstance("SHA-256").digest(secret);
            return java.util.HexFormat.of().formatHex(digest, 0, 4);
        } catch (final GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
