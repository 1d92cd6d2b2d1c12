package io.synproxy.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One worker's counters: written only by that worker, so no atomics on the fast path; readers (the stat file writer,
 * tests) sum per-worker copies. The array is padded on both sides so no other object shares its cache lines.
 */
public final class EngineCounters {
    public static final int FRAMES_RECEIVED = 0;
    /** SYNs answered with a SYN-ACK. */
    public static final int SYN_ACKS_SENT = 1;
    /** ACKs whose cookie validated: encapsulated with the handshake mark. */
    public static final int ACKS_VALID = 2;
    /** ACKs (no SYN/RST) whose cookie did not validate: established traffic or forgeries, forwarded unmarked. */
    public static final int ACKS_NOT_VALIDATED = 3;
    /** Other TCP to a VIP (RST, SYN-ACK), forwarded unmarked. */
    public static final int OTHER_FORWARDED = 4;
    public static final int ENCAPSULATED = 5;
    public static final int DROPPED = 6;
    /** ARP replies and neighbour advertisements for our addresses. */
    public static final int NEIGHBOUR_REPLIES = 7;
    /** SYNs that carried data (TCP Fast Open): answered, the data not kept (the client sends it again). */
    public static final int SYN_DATA_IGNORED = 8;
    /** Path-MTU errors (fragmentation needed, packet too big) for a VIP flow, forwarded to its backend. */
    public static final int ICMP_FORWARDED = 9;
    /**
     * SYN-ACKs whose cookie was issued under a salt whose epoch had ended more than
     * {@link PacketEngine#STALE_SALT_AFTER_MILLIS} before: the control thread has not published the new one (stalled).
     */
    public static final int SYN_ACKS_STALE_SALT = 10;
    /** Frames handed to the host's kernel as control traffic (ARP, neighbour discovery, BGP/BFD peers). */
    public static final int TO_HOST_CONTROL = 11;
    /** Other frames handed to the host's kernel (rate limited by the exception path). */
    public static final int TO_HOST_OTHER = 12;
    /** Encapsulated naming the flow's previous owner (its Maglev slot changed hands): daisy chaining. */
    public static final int CHAINED = 13;
    private static final int DROP_BASE = 14;
    private static final String[] NAMES = {"rx-frames", "syn-ack-sent", "ack-valid", "ack-not-validated",
        "other-forwarded", "encapsulated", "dropped", "neighbour-replies", "syn-data-ignored", "icmp-forwarded",
        "syn-ack-stale-salt", "to-host-control", "to-host-other", "chained"};

    /** Number of counters: the fixed ones, then one per {@link DropReason}. */
    public static final int COUNT = DROP_BASE + DropReason.values().length;
    private static final int PAD = 16;

    private final long[] values = new long[PAD + COUNT + PAD];

    void increment(final int counter) {
        values[PAD + counter]++;
    }

    void add(final int counter, final int amount) {
        values[PAD + counter] += amount;
    }

    void drop(final int reason) {
        values[PAD + DROPPED]++;
        values[PAD + DROP_BASE + reason]++;
    }

    /** A copy, for comparing before and after (not for the fast path: it allocates). */
    public EngineCounters copy() {
        final EngineCounters copy = new EngineCounters();
        System.arraycopy(values, 0, copy.values, 0, values.length);
        return copy;
    }

    public long get(final int counter) {
        return values[PAD + counter];
    }

    public long dropped(final DropReason reason) {
        return values[PAD + DROP_BASE + reason.ordinal()];
    }

    public static String name(final int counter) {
        return counter < DROP_BASE ? NAMES[counter] : DropReason.of(counter - DROP_BASE).counterName();
    }

    /** Non-zero counters by name, in counter order (drop reason NONE never counts). */
    public Map<String, Long> snapshot() {
        final Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < COUNT; i++) {
            if (get(i) != 0) {
                out.put(name(i), get(i));
            }
        }
        return out;
    }
}
