package io.synproxy.cookie;

/**
 * The SipHash keys a worker needs at one moment: the current epoch's (to issue and to validate), the previous epoch's
 * (to validate only, while its grace lasts) and the next epoch's (to validate only, in the last
 * {@code max_clock_skew} of the current epoch: a node whose clock runs ahead may already issue under it). Immutable:
 * the control thread builds a new one and the worker swaps the reference between bursts, so no worker can ever see
 * half a key.
 *
 * <p>Cookies carry the parity of the epoch that issued them. The current parity names exactly one key. The other
 * parity names the previous or the next epoch; near a boundary both can be open, and then an ACK costs two SipHash
 * evaluations, never more. A cookie from two epochs back has the current parity but not the current key, so it fails
 * the MAC.
 */
public final class SaltSnapshot {
    private final long epoch;
    private final long currentK0;
    private final long currentK1;
    private final long previousK0;
    private final long previousK1;
    private final long nextK0;
    private final long nextK1;
    private final boolean previousValid;
    private final boolean nextValid;
    private final long epochEndMillis;
    /** The same epochs under the secret also accepted during a key rotation, or null. */
    private SaltSnapshot alternate;

    /**
     * @param epochEndMillis when the current epoch ends (Unix ms): past it, a worker still holding this snapshot
     *                       issues cookies under an old salt (the control thread has not published since)
     */
    public SaltSnapshot(final long epoch, final long currentK0, final long currentK1, final long previousK0,
                        final long previousK1, final boolean previousValid, final long nextK0, final long nextK1,
                        final boolean nextValid, final long epochEndMillis) {
        this.epoch = epoch;
        this.epochEndMillis = epochEndMillis;
        this.currentK0 = currentK0;
        this.currentK1 = currentK1;
        this.previousK0 = previousK0;
        this.previousK1 = previousK1;
        this.previousValid = previousValid;
        this.nextK0 = nextK0;
        this.nextK1 = nextK1;
        this.nextValid = nextValid;
    }

    /** This snapshot with {@code other} (another secret's, same epochs) accepted too. */
    public SaltSnapshot withAlternate(final SaltSnapshot other) {
        final SaltSnapshot both = new SaltSnapshot(epoch, currentK0, currentK1, previousK0, previousK1, previousValid,
            nextK0, nextK1, nextValid, epochEndMillis);
        both.alternate = other;
        return both;
    }

    /** The accepted secret's salts for the same epochs, or null when no rotation is under way. */
    public SaltSnapshot alternate() {
        return alternate;
    }

    public long epoch() {
        return epoch;
    }

    /** When the current epoch ends (Unix ms). */
    public long epochEndMillis() {
        return epochEndMillis;
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

    public long nextK0() {
        return nextK0;
    }

    public long nextK1() {
        return nextK1;
    }

    /** Whether a cookie with these option bits (the epoch parity among them) may still validate. */
    public boolean accepts(final int cookieBits) {
        return isCurrent(cookieBits) || previousValid || nextValid;
    }

    public boolean isCurrent(final int cookieBits) {
        return ((cookieBits >>> 8) & 1) == (int) (epoch & 1);
    }

    /** False once the previous epoch's grace has run out: its cookies are then refused. */
    public boolean previousValid() {
        return previousValid;
    }

    /** True within the clock-skew bound before the next epoch starts: cookies of the next epoch validate. */
    public boolean nextValid() {
        return nextValid;
    }

    @Override
    public String toString() {
        return "SaltSnapshot{epoch=" + epoch + ", previousValid=" + previousValid + ", nextValid=" + nextValid + '}';
    }
}
