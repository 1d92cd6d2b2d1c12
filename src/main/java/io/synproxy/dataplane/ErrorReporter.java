package io.synproxy.dataplane;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Where the proxy's errors go: each distinct one into the counters file's error log ({@code synproxy errors} shows
 * them with counts and times), and a line on the log, rate-limited per message: the same message is printed at most
 * once per {@link #REPEAT_MILLIS}, with how many were held back meanwhile. Never called on a worker's path (it
 * allocates and locks): workers count, the threads around them report.
 */
public final class ErrorReporter {
    /** The same message is printed again only after this long. */
    public static final long REPEAT_MILLIS = 10_000;
    private static final int MAX_TRACKED = 1024;

    private final PrintStream log;
    private final LongSupplier clockMillis;
    private StatsFile file;
    private final Map<String, long[]> printed = new HashMap<>();

    public ErrorReporter(final PrintStream log, final LongSupplier clockMillis) {
        this.log = log;
        this.clockMillis = clockMillis;
    }

    /** From now on errors are also recorded in {@code stats}'s error log. */
    public synchronized ErrorReporter recordIn(final StatsFile stats) {
        this.file = stats;
        return this;
    }

    /** An error the operator must read, described by its message alone (no stack trace: the message says it all). */
    public void report(final String message) {
        report(new ProxyError(message));
    }

    /** An error, with its stack trace kept in the error log. */
    public synchronized void report(final Throwable error) {
        if (file != null) {
            file.recordError(error);
        }
        final String line = error instanceof ProxyError ? error.getMessage() : String.valueOf(error);
        final long now = clockMillis.getAsLong();
        final long[] state = printed.get(line); // {last printed at, held back since}
        if (state == null) {
            if (printed.size() >= MAX_TRACKED) {
                printed.clear();
            }
            printed.put(line, new long[] {now, 0});
            log.println("synproxy: " + line);
        } else if (now - state[0] >= REPEAT_MILLIS) {
            log.println("synproxy: " + line + (state[1] > 0 ? " (" + state[1] + " more like it held back)" : ""));
            state[0] = now;
            state[1] = 0;
        } else {
            state[1]++;
        }
    }

    /** An error told by its message: what went wrong and what to do, no stack trace (it would say nothing more). */
    public static final class ProxyError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ProxyError(final String message) {
            super(message, null, false, false);
        }
    }
}
