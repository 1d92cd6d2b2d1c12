package io.synproxy.dataplane;

import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.engine.PacketEngine;
import java.io.PrintStream;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Notices a control thread that has stopped publishing salts. Each worker keeps answering SYNs with the last salt it
 * got (it validates its own cookies with the same salt, and a node that stops answering would be down), counting
 * them as {@code syn-ack-stale-salt}; other nodes accept those cookies only while the old epoch's grace lasts, and no
 * node's salt rotates. So this watchdog, run off the workers' cores (the main thread, once a second), says so on the
 * error stream: when it starts, every {@value #REPEAT_MILLIS} ms while it lasts, and when it ends. Workers never log.
 */
public final class SaltWatchdog {
    static final long REPEAT_MILLIS = 10_000;

    private final List<String> names;
    private final List<PacketEngine> engines;
    private final LongSupplier clockMillis;
    private final PrintStream out;
    private boolean stale;
    private long lastReportMillis;

    public SaltWatchdog(final List<String> names, final List<PacketEngine> engines, final LongSupplier clockMillis,
                        final PrintStream out) {
        this.names = List.copyOf(names);
        this.engines = List.copyOf(engines);
        this.clockMillis = clockMillis;
        this.out = out;
    }

    /** Looks at every worker's salt (read from this thread: a reference a little old is fine). True while stale. */
    public boolean check() {
        final long now = clockMillis.getAsLong();
        String worst = null;
        long late = 0;
        long epoch = 0;
        for (int i = 0; i < engines.size(); i++) {
            final SaltSnapshot salts = engines.get(i).salts();
            final long behind = now - salts.epochEndMillis();
            if (behind >= PacketEngine.STALE_SALT_AFTER_MILLIS && behind > late) {
                worst = names.get(i);
                late = behind;
                epoch = salts.epoch();
            }
        }
        if (worst != null) {
            if (!stale || now - lastReportMillis >= REPEAT_MILLIS) {
                out.printf("synproxy: error: %s still issues cookies under salt epoch %d, which ended %.1f s ago: "
                        + "the control thread has published no salt since (stalled?). Its cookies validate on this "
                        + "node, on others only within the grace, and the salt does not rotate; "
                        + "counter syn-ack-stale-salt; restart the node if it persists%n", worst, epoch,
                    late / 1000.0);
                lastReportMillis = now;
            }
            stale = true;
        } else if (stale) {
            out.println("synproxy: salts current again on every worker");
            stale = false;
        }
        return stale;
    }
}
