package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import io.synproxy.config.Dataplane;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SaltSnapshot;
import io.synproxy.engine.BackendTable;
import io.synproxy.engine.EngineCounters;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.ProxyKeys;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.CompositeAgent;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

/**
 * The running proxy: EAL, ports, one mempool per NUMA socket, a pinned {@link PortWorker} thread per configured
 * queue, the {@link ControlAgent} thread, and the counters file. {@link #close} stops the workers, stops and closes
 * the ports, and frees the pools.
 */
public final class DataPlane implements AutoCloseable {
    /** DPDK's default mbuf data room: 2048 bytes of frame after 128 of headroom. */
    public static final int DATA_ROOM = 2176;

    private static final java.util.concurrent.atomic.AtomicInteger POOLS = new java.util.concurrent.atomic.AtomicInteger();

    private final Arena arena = Arena.ofShared();
    private final Map<String, Integer> portIds = new LinkedHashMap<>();
    private final List<MemorySegment> pools = new ArrayList<>();
    private final List<PortWorker> workers = new ArrayList<>();
    private final List<AgentRunner> runners = new ArrayList<>();
    private final List<PacketEngine> engines = new ArrayList<>();
    private StatsFile stats;
    private ControlAgent control;
    private LongSupplier clockMillis = System::currentTimeMillis;
    private boolean closed;

    private DataPlane() {
    }

    public static DataPlane start(final ProxyConfig config, final ProxyKeys keys) {
        return start(config, keys, System::currentTimeMillis);
    }

    /** Starts with the given wall clock (milliseconds): salts and timestamps follow it (tests move it). */
    public static DataPlane start(final ProxyConfig config, final ProxyKeys keys, final LongSupplier clockMillis) {
        final Dataplane dp = config.dataplane();
        if (dp == null) {
            throw new IllegalArgumentException(config.file() + ": [dataplane], [[port]] and [[worker]] are needed to "
                + "run (see config/synproxy.toml)");
        }
        final DataPlane plane = new DataPlane();
        try {
            plane.open(config, keys, dp, clockMillis);
            return plane;
        } catch (final RuntimeException e) {
            plane.close();
            throw e;
        }
    }

    private void open(final ProxyConfig config, final ProxyKeys keys, final Dataplane dp,
                      final LongSupplier clockMillis) {
        this.clockMillis = clockMillis;
        Dpdk.initEal(dp.ealArgs());
        final Map<Integer, MemorySegment> poolBySocket = new HashMap<>();
        for (final Dataplane.Port port : dp.ports()) {
            final int id = port.isPci() ? portByName(port) : Dpdk.probe(port.device());
            portIds.put(port.name(), id);
        }
        // Every worker has TX queues of its own, on its port and on its backend port: no TX queue is ever shared.
        final Map<String, Integer> txQueues = new HashMap<>();
        final int[] clientTx = new int[dp.workers().size()];
        final int[] backendTx = new int[dp.workers().size()];
        for (int i = 0; i < dp.workers().size(); i++) {
            final Dataplane.Worker w = dp.workers().get(i);
            clientTx[i] = txQueues.merge(w.port(), 1, Integer::sum) - 1;
            backendTx[i] = w.backendPort().equals(w.port()) ? clientTx[i]
                : txQueues.merge(w.backendPort(), 1, Integer::sum) - 1;
        }
        for (final Dataplane.Port port : dp.ports()) {
            final int id = portIds.get(port.name());
            final int socket = Math.max(Shim.portSocket(id), -1);
            final MemorySegment pool = poolBySocket.computeIfAbsent(socket, s -> {
                // Mempool names are short in DPDK (RTE_MEMPOOL_NAMESIZE): "sp-SOCKET-N".
                final MemorySegment created = Dpdk.mempool("sp-" + (s < 0 ? "any" : s) + "-"
                    + POOLS.incrementAndGet(), dp.mbufs(), 256, DATA_ROOM, s);
                pools.add(created);
                return created;
            });
            Dpdk.startPort(id, port.rxQueues(), txQueues.getOrDefault(port.name(), 0), dp.descriptors(), pool);
            Shim.portPromiscuous(id, true);
        }

        final SaltSchedule schedule = keys.saltSchedule(config);
        final BackendTable backends = BackendTable.of(config, keys);
        final SaltSnapshot initial = schedule.snapshotAt(clockMillis.getAsLong());
        stats = StatsFile.create(dp.statsFile(), dp.workers().size() * (EngineCounters.COUNT + 1)
            + portIds.size() * PortStatsAgent.countersPerPort());
        final List<OneToOneConcurrentArrayQueue<SaltSnapshot>> queues = new ArrayList<>();
        final List<OneToOneConcurrentArrayQueue<BackendTable>> backendQueues = new ArrayList<>();
        for (int i = 0; i < dp.workers().size(); i++) {
            final Dataplane.Worker w = dp.workers().get(i);
            final PacketEngine engine = new PacketEngine(config, keys, initial, backends);
            engine.setMacs(Dpdk.mac(portIds.get(w.port())), Dpdk.mac(portIds.get(w.backendPort())));
            final OneToOneConcurrentArrayQueue<SaltSnapshot> queue = ControlAgent.newQueue();
            queues.add(queue);
            final OneToOneConcurrentArrayQueue<BackendTable> backendQueue = new OneToOneConcurrentArrayQueue<>(4);
            backendQueues.add(backendQueue);
            engines.add(engine);
            workers.add(new PortWorker(w.name(), portIds.get(w.port()), w.queue(), clientTx[i],
                portIds.get(w.backendPort()), backendTx[i], engine, clockMillis, arena).salts(queue).backends(backendQueue).counters(stats).pinTo(w.core()));
        }
        control = new ControlAgent(schedule, clockMillis, queues, backendQueues,
            () -> reloadBackends(config.file(), config, keys.authKey()));
        for (final PortWorker worker : workers) {
            runners.add(startRunner(new AgentRunner(new BusySpinIdleStrategy(), DataPlane::fail, null, worker)));
        }
        // The control thread also copies the ports' own counters out; both are mostly asleep.
        final Agent controlThread = new CompositeAgent(new PinnedAgent(control, dp.controlCore()),
            new PortStatsAgent(portIds, stats));
        runners.add(startRunner(new AgentRunner(new SleepingMillisIdleStrategy(1), DataPlane::fail, null,
            controlThread)));
    }

    /** Pins its thread to a core (if one is given) when it starts, then does what {@code agent} does. */
    private record PinnedAgent(Agent agent, int core) implements Agent {
        @Override
        public void onStart() {
            if (core >= 0 && Shim.threadPin(core) < 0) {
                throw new DpdkException("cannot pin " + agent.roleName() + " to core " + core);
            }
            agent.onStart();
        }

        @Override
        public int doWork() throws Exception {
            return agent.doWork();
        }

        @Override
        public void onClose() {
            agent.onClose();
        }

        @Override
        public String roleName() {
            return agent.roleName();
        }
    }

    /**
     * Re-reads the configuration for a new backend set. Only [[backend]] (and encap.next_hop_mac) may change while
     * running; anything else is reported and needs a restart.
     */
    private static BackendTable reloadBackends(final java.nio.file.Path file, final ProxyConfig running,
                                               final byte[] authKey) {
        try {
            final ProxyConfig fresh = ProxyConfig.load(file);
            if (!fresh.vips().toString().equals(running.vips().toString())
                || !fresh.encap().equals(running.encap()) && !sameButNextHop(fresh.encap(), running.encap())) {
                System.err.println("synproxy: reload: only [[backend]] and encap.next_hop_mac change while running; "
                    + "restart for the other changes");
            }
            final BackendTable table = new BackendTable(fresh.backends(), running.encap(), fresh.maglevTableSize(),
                authKey);
            System.out.println("synproxy: reload: " + table.size() + " backend(s)");
            return table;
        } catch (final io.synproxy.config.ConfigException e) {
            System.err.println("synproxy: reload refused, backends unchanged: " + e.getMessage());
            return null;
        }
    }

    private static boolean sameButNextHop(final ProxyConfig.Encap a, final ProxyConfig.Encap b) {
        return java.util.Objects.equals(a.sourceV4(), b.sourceV4()) && java.util.Objects.equals(a.sourceV6(),
            b.sourceV6()) && a.port() == b.port() && a.backendMtu() == b.backendMtu();
    }

    private static int portByName(final Dataplane.Port port) {
        try (Arena a = Arena.ofConfined()) {
            final int id = Shim.portByName(a.allocateFrom(port.dpdkName()));
            if (id < 0) {
                throw new DpdkException("port '" + port.name() + "': no DPDK port for PCI device " + port.device()
                    + " (" + Shim.strerror(id) + "). Bind it to vfio-pci (dpdk-devbind.py -b vfio-pci "
                    + port.device() + ") and check EAL's -a/--allow arguments");
            }
            return id;
        }
    }

    private static AgentRunner startRunner(final AgentRunner runner) {
        AgentRunner.startOnThread(runner, r -> {
            final Thread thread = new Thread(r, runner.agent().roleName());
            thread.setDaemon(true);
            return thread;
        });
        return runner;
    }

    private static void fail(final Throwable error) {
        System.err.println("synproxy: " + error);
    }

    public List<PortWorker> workers() {
        return workers;
    }

    public ControlAgent control() {
        return control;
    }

    /** A watchdog over the workers' salts, for a thread that is not a worker's (the main thread). */
    public SaltWatchdog saltWatchdog(final java.io.PrintStream out) {
        final List<String> names = new ArrayList<>();
        for (final PortWorker worker : workers) {
            names.add(worker.roleName());
        }
        return new SaltWatchdog(names, engines, clockMillis, out);
    }

    /** The sum of every worker's counter (approximate while running: read from other threads). */
    public long total(final int counter) {
        long sum = 0;
        for (final PacketEngine engine : engines) {
            sum += engine.counters().get(counter);
        }
        return sum;
    }


    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CloseHelper.closeAll(runners);
        for (final int id : portIds.values()) {
            try {
                Dpdk.stopPort(id);
            } catch (final DpdkException e) {
                System.err.println("synproxy: " + e.getMessage());
            }
        }
        pools.forEach(Shim::mempoolFree);
        CloseHelper.close(stats);
        arena.close();
    }
}
