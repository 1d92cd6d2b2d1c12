package io.synproxy.dataplane;

/** A DPDK call failed: the message carries DPDK's own error text and what to do about it. */
public final class DpdkException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DpdkException(final String message) {
        super(message);
    }
}
