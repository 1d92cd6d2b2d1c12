package io.synproxy.dataplane;

import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.BackendTable;
import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Which backends own Maglev slots: the configured ones (reloaded on SIGHUP), less the draining ones and those failing
 * their health check. Each change builds the next table from the one in force, so the slots that changed hands name
 * their previous owner (daisy chaining, {@link BackendTable}). Used by the control thread (builds) and the health
 * checker (marks); it never runs on a worker.
 */
public final class BackendDirector {
    private volatile ProxyConfig config;
    private volatile byte[] authKey;
    private final LongSupplier clockMillis;
    private final PrintStream log;
    private final Set<String> unhealthy = ConcurrentHashMap.newKeySet();
    private StatsFile stats;
    private final java.util.Map<String, org.agrona.concurrent.status.AtomicCounter[]> published =
        new java.util.HashMap<>();

    public BackendDirector(final ProxyConfig config, final byte[] authKey, final LongSupplier clockMillis,
                           final PrintStream log) {
        this.config = config;
        this.authKey = authKey.clone();
        this.clockMillis = clockMillis;
        this.log = log;
    }

    /**
     * Publishes each backend's state into the counters file at every build: {@code backend-ADDR member} (owns slots),
     * {@code draining}, {@code chained-slots} (slots that still name it as their previous owner: what a draining or
     * failed backend still holds, the proxy keeping no per-connection state).
     */
    public BackendDirector publishTo(final StatsFile file) {
        this.stats = file;
        return this;
    }

    private void publish(final BackendTable table, final int[] chained) {
        if (stats == null) {
            return;
        }
        for (final org.agrona.concurrent.status.AtomicCounter[] counters : published.values()) {
            counters[0].setRelease(0);
            counters[1].setRelease(0);
            counters[2].setRelease(0);
        }
        for (int i = 0; i < table.size(); i++) {
            final String name = "backend-" + table.address(i);
            final org.agrona.concurrent.status.AtomicCounter[] counters = published.computeIfAbsent(name, n ->
                new org.agrona.concurrent.status.AtomicCounter[] {stats.newCounter(n + " member"),
                    stats.newCounter(n + " draining"), stats.newCounter(n + " chained-slots")});
            counters[0].setRelease(table.isMember(i) ? 1 : 0);
            counters[1].setRelease(table.isDraining(i) ? 1 : 0);
            counters[2].setRelease(chained[i]);
        }
        if (configured == null) {
            configured = stats.newCounter("control backends-configured");
            healthy = stats.newCounter("control backends-healthy");
        }
        configured.setRelease(config.backends().size());
        healthy.setRelease(config.backends().stream().filter(b -> isHealthy(b.address().text())).count());
    }

    private org.agrona.concurrent.status.AtomicCounter configured;
    private org.agrona.concurrent.status.AtomicCounter healthy;

    /** The configuration whose backends are in force. */
    public ProxyConfig config() {
        return config;
    }

    /** The first table: every active backend a member (health checks start optimistic: rise applies to failures). */
    public BackendTable initial() {
        return BackendTable.next(null, config.backends(), unhealthy, config.encap(), config.maglevTableSize(),
            authKey, clockMillis.getAsLong(), 0, 0);
    }

    /** The table after a change from {@code before}: the configured backends less the unhealthy and the draining. */
    public BackendTable build(final BackendTable before, final String why) {
        final ProxyConfig c = config;
        final long now = clockMillis.getAsLong();
        final BackendTable table = BackendTable.next(before, c.backends(), Set.copyOf(unhealthy), c.encap(),
            c.maglevTableSize(), authKey, now, c.changes().chainSeconds() * 1000,
            c.changes().drainLimitSeconds() * 1000);
        final int[] chained = table.chainedSlots(now);
        final StringBuilder previous = new StringBuilder();
        for (int i = 0; i < table.size(); i++) {
            if (chained[i] > 0) {
                previous.append(previous.isEmpty() ? "" : ", ").append(table.address(i)).append(' ')
                    .append(chained[i]);
            }
        }
        publish(table, chained);
        log.println("backends: " + why + ": " + table.members() + " of " + table.size() + " own slots; "
            + table.movedSlots() + " slots changed hands" + (previous.isEmpty() ? ""
            : "; previous owners named (slots): " + previous));
        return table;
    }

    /**
     * A reload: {@code fresh} (validated in full) and its authentication key are in force from now on; returns the
     * table built from the one in force, so the slots that change hands name their previous owner.
     */
    public BackendTable apply(final ProxyConfig fresh, final byte[] freshAuthKey, final BackendTable before) {
        if (fresh.maglevTableSize() != config.maglevTableSize()) {
            log.println("synproxy: reload: a new maglev.table_size moves every flow: no previous owners are named");
        }
        config = fresh;
        authKey = freshAuthKey.clone();
        unhealthy.retainAll(fresh.backends().stream().map(b -> b.address().text()).toList());
        return build(before, "reload");
    }

    /** Marks a backend's health; true when that changes the members (a rebuild is due). */
    public boolean setHealthy(final String address, final boolean healthy) {
        return healthy ? unhealthy.remove(address) : unhealthy.add(address);
    }

    public boolean isHealthy(final String address) {
        return !unhealthy.contains(address);
    }
}
