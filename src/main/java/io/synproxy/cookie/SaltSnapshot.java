package io.synproxy.cookie;

/**
 * The SipHash keys a worker needs for one salt epoch: the current epoch's (to issue and to validate) and the previous
 * epoch's (to validate only, while its grace lasts). Immutable: the control thread builds a new one and the worker
 * swaps the reference between bursts, so no worker can ever see half a key.
 *
 * <p>Cookies carry the parity of the epoch that issued them, which tells the validator which of the two keys to try;
 * a cookie from two epochs back has the current parity but not the current key, so it fails the MAC.
 */
public final class SaltSnapshot {
    private final long epoch;
    private final long currentK0;
    private final long currentK1;
    private final long previousK0;
    private final long previousK1;
    private final boolean previousValid;

    public SaltSnapshot(final long epoch, final long currentK0, final long currentK1, final long previousK0,
                        final long previousK1, final boolean previousValid) {
        this.epoch = epoch;
        this.currentK0 = currentK0;
        this.currentK1 = currentK1;
        this.previousK0 = previousK0;
        this.previousK1 = previousK1;
        this.previousValid = previousValid;
    }

    public long epoch() {
        return epoch;
    }

    /** 0 or 1: the parity bit the current epoch writes into cookies. */
    public int currentParity() {
        return (int) (epoch & 1);
    }

    public long currentK0() {
        return currentK0;
    }

    public long currentK1() {
        return currentK1;
    }

    public long previousK0() {
        return previousK0;
    }

    public long previousK1() {
        return previousK1;
    }

    /** Whether a cookie with these option bits (the epoch parity among them) may still validate. */
    public boolean accepts(final int cookieBits) {
        return isCurrent(cookieBits) || previousValid;
    }

    /** The first key word for a cookie with these option bits: the current epoch's, or the previous one's. */
    public long k0For(final int cookieBits) {
        return isCurrent(cookieBits) ? currentK0 : previousK0;
    }

    /** The second key word for a cookie with these option bits. */
    public long k1For(final int cookieBits) {
        return isCurrent(cookieBits) ? currentK1 : previousK1;
    }

    public boolean isCurrent(final int cookieBits) {
        return ((cookieBits >>> 8) & 1) == (int) (epoch & 1);
    }

    /** False once the previous epoch's grace has run out: its cookies are then refused. */
    public boolean previousValid() {
        return previousValid;
    }

    @Override
    public String toString() {
        return "SaltSnapshot{epoch=" + epoch + ", previousValid=" + previousValid + '}';
    }
}
