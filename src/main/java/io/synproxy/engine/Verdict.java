package io.synproxy.engine;

/** What the worker does with a frame after the engine has seen it. */
public final class Verdict {
    /** Free the buffer; the reason is in the descriptor and counted. */
    public static final int DROP = 0;
    /** Send back out of the receiving port: a SYN-ACK, rewritten in place. */
    public static final int TX_CLIENT = 1;
    /** Send out of the backend-facing port: encapsulated toward a backend. */
    public static final int TX_BACKEND = 2;
    /** Hand to the host's kernel through the port's host interface; the reason byte holds the {@link HostPath} class. */
    public static final int TO_HOST = 3;

    private Verdict() {
    }
}
