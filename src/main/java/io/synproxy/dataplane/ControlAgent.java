package io.synproxy.dataplane;

import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.engine.BackendTable;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * The control thread: the only writer of salts and backend tables. It derives the next salt state (a new epoch, or the end of the
 * previous epoch's grace) ahead of time, and at the boundary hands the same immutable {@link SaltSnapshot} to every
 * worker through a queue of its own (Agrona's single-producer single-consumer queue: never lossy; a worker takes it
 * between bursts, so none ever sees half a key). Backend tables travel the same way when a reload is requested
 * ({@link #requestReload}, on SIGHUP): the Maglev table is built here, and every worker swaps the same one in. The KDF
 * and the table build allocate, which is why they run here and not on a worker.
 */
public final class ControlAgent implements Agent {
    /** Room for a few snapshots: a worker takes one per burst, far more often than salts change. */
    public static final int QUEUE_CAPACITY = 8;

    private SaltSchedule schedule;
    private final LongSupplier clockMillis;
    private final List<OneToOneConcurrentArrayQueue<SaltSnapshot>> workers;
    private long publishedState = Long.MIN_VALUE;
    private long nextState = Long.MIN_VALUE;
    private SaltSnapshot next;
    private volatile long publications;
    private final List<OneToOneConcurrentArrayQueue<BackendTable>> backendQueues;
    private final Supplier<BackendTable> backendSource;
    private final BackendTable[] pendingBackends;
    private volatile boolean reloadRequested;
    private long reloads;
    /** The table last built from the configuration, before next-hop MACs are resolved into it. */
    private volatile BackendTable base;
    /** Next-hop MACs resolved while running, by backend address (null: none are resolved); and news of a change. */
    private volatile java.util.Map<String, Long> resolvedMacs;
    private volatile boolean macsChanged;
    /** Builds the next table without re-reading the file (a backend's health changed); null: none. */
    private java.util.function.Supplier<BackendTable> rebuildSource;
    private volatile boolean rebuildRequested;
    /** Per worker: a snapshot its full queue could not take yet (a newer one replaces it). */
    private final SaltSnapshot[] pending;
    /** Per worker: engine settings (a reload's), and those its full queue could not take yet. */
    private List<OneToOneConcurrentArrayQueue<io.synproxy.engine.EngineSettings>> settingsQueues = List.of();
    private io.synproxy.engine.EngineSettings[] pendingSettings = new io.synproxy.engine.EngineSettings[0];

    public ControlAgent(final SaltSchedule schedule, final LongSupplier clockMillis,
                        final List<OneToOneConcurrentArrayQueue<SaltSnapshot>> workers) {
        this(schedule, clockMillis, workers, List.of(), () -> null);
    }

    /**
     * @param backendQueues one per worker, for new backend tables
     * @param backendSource builds the backend table anew (re-reading the configuration) on a reload request; returns
     *                      null if the new configuration is invalid (it has said why)
     */
    public ControlAgent(final SaltSchedule schedule, final LongSupplier clockMillis,
                        final List<OneToOneConcurrentArrayQueue<SaltSnapshot>> workers,
                        final List<OneToOneConcurrentArrayQueue<BackendTable>> backendQueues,
                        final Supplier<BackendTable> backendSource) {
        this.schedule = schedule;
        this.clockMillis = clockMillis;
        this.workers = workers;
        this.pending = new SaltSnapshot[workers.size()];
        this.backendQueues = backendQueues;
        this.backendSource = backendSource;
        this.pendingBackends = new BackendTable[backendQueues.size()];
    }

    /** Queues for new engine settings, one per worker (before the agent starts). */
    public ControlAgent settingsTo(final List<OneToOneConcurrentArrayQueue<io.synproxy.engine.EngineSettings>> queues) {
        this.settingsQueues = queues;
        this.pendingSettings = new io.synproxy.engine.EngineSettings[queues.size()];
        return this;
    }

    /** Hands each worker its new settings (on the control thread: a reload); they take them between bursts. */
    void publishSettings(final List<io.synproxy.engine.EngineSettings> perWorker) {
        for (int i = 0; i < pendingSettings.length; i++) {
            pendingSettings[i] = perWorker.get(i);
        }
    }

    /**
     * New keys (a reload, on the control thread): salts from {@code next} from now on, the current state published
     * again at once so every worker issues and accepts under the new keys within one round.
     */
    void replaceSchedule(final SaltSchedule next) {
        schedule = next;
        publishedState = Long.MIN_VALUE;
        nextState = Long.MIN_VALUE;
        this.next = null;
    }

    /** The salts in force (on the control thread). */
    SaltSchedule schedule() {
        return schedule;
    }

    /** The backend table as the configuration builds it (next hops not yet resolved into it). */
    public ControlAgent initialBackends(final BackendTable table) {
        this.base = table;
        return this;
    }

    /** The current backend table before resolution: which backends there are and how each one's MAC is found. */
    public BackendTable baseBackends() {
        return base;
    }

    /**
     * New next-hop MACs (by backend address; any thread): every worker gets the current backends with them. A
     * change of router (its MAC) reaches the workers this way within one control round.
     */
    public void resolvedMacs(final java.util.Map<String, Long> macs) {
        resolvedMacs = java.util.Map.copyOf(macs);
        macsChanged = true;
    }

    /** How to build the next table when {@link #requestRebuild} is called (before the agent starts). */
    public ControlAgent rebuildWith(final java.util.function.Supplier<BackendTable> source) {
        this.rebuildSource = source;
        return this;
    }

    /** Asks for the next table from the same configuration (any thread; e.g. a backend's health changed). */
    public void requestRebuild() {
        rebuildRequested = true;
    }

    /** Asks for the backends to be rebuilt from the configuration (any thread; e.g. on SIGHUP). */
    public void requestReload() {
        reloadRequested = true;
    }

    /** Backend tables published so far. */
    public long reloads() {
        return reloads;
    }

    /** Builds the new backend table here, off the workers, and hands it to each (swapped in between bursts). */
    private int reloadIfRequested() {
        int work = 0;
        if (reloadRequested) {
            reloadRequested = false;
            final BackendTable table = backendSource.get();
            if (table != null) {
                base = table;
                java.util.Arrays.fill(pendingBackends, resolve(table));
                reloads++;
                work++;
            }
        }
        if (rebuildRequested && rebuildSource != null) {
            rebuildRequested = false;
            final BackendTable table = rebuildSource.get();
            if (table != null) {
                base = table;
                java.util.Arrays.fill(pendingBackends, resolve(table));
                work++;
            }
        }
        if (macsChanged && base != null) {
            macsChanged = false;
            java.util.Arrays.fill(pendingBackends, resolve(base));
            work++;
        }
        for (int i = 0; i < pendingSettings.length; i++) {
            if (pendingSettings[i] != null && settingsQueues.get(i).offer(pendingSettings[i])) {
                pendingSettings[i] = null;
                work++;
            }
        }
        for (int i = 0; i < pendingBackends.length; i++) {
            if (pendingBackends[i] != null && backendQueues.get(i).offer(pendingBackends[i])) {
                pendingBackends[i] = null;
                work++;
            }
        }
        return work;
    }

    private BackendTable resolve(final BackendTable table) {
        final java.util.Map<String, Long> macs = resolvedMacs;
        return macs == null ? table : table.withResolvedMacs(macs);
    }

    /** A queue for one worker; the control agent must be built with all of them. */
    public static OneToOneConcurrentArrayQueue<SaltSnapshot> newQueue() {
        return new OneToOneConcurrentArrayQueue<>(QUEUE_CAPACITY);
    }

    @Override
    public int doWork() {
        final long now = clockMillis.getAsLong();
        final long state = schedule.stateAt(now);
        int work = offerPending() + reloadIfRequested();
        if (state == publishedState) {
            prepareNext(now);
            return work;
        }
        final SaltSnapshot snapshot = state == nextState ? next : schedule.snapshotAt(now);
        for (int i = 0; i < pending.length; i++) {
            pending[i] = snapshot;
        }
        offerPending();
        publishedState = state;
        publications++;
        return work + 1;
    }

    /** Hands each worker its pending snapshot; a full queue (a stalled worker) keeps it for the next round. */
    private int offerPending() {
        int offered = 0;
        for (int i = 0; i < pending.length; i++) {
            if (pending[i] != null && workers.get(i).offer(pending[i])) {
                pending[i] = null;
                offered++;
            }
        }
        return offered;
    }

    /** Derives the snapshot of the next state change before it is due, so publishing it costs nothing. */
    private void prepareNext(final long now) {
        final long change = schedule.nextChangeMillis(now);
        final long state = schedule.stateAt(change);
        if (state != nextState) {
            next = schedule.snapshotAt(change);
            nextState = state;
        }
    }

    /** How many salt states were published (for tests and the log). */
    public long publications() {
        return publications;
    }

    @Override
    public String roleName() {
        return "control";
    }
}
