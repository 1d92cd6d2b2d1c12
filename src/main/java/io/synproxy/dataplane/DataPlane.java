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
import org.agrona.concurrent.BackoffIdleStrategy;
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
    private final Map<String, PortLink> links = new HashMap<>();
    /** Per port name, the TX checksum offloads its configuration enabled (Shim.TX_*): what its engines may ask for. */
    private final Map<String, Integer> txChecksum = new LinkedHashMap<>();
    private final List<MemorySegment> pools = new ArrayList<>();
    private final List<PortWorker> workers = new ArrayList<>();
    private final List<AgentRunner> runners = new ArrayList<>();
    private final List<PacketEngine> engines = new ArrayList<>();
    private StatsFile stats;
    private ControlAgent control;
    /** Host interfaces (net_tap ports) by port name; their exception agents; the node's kernel side. */
    private final Map<String, Integer> hostPorts = new LinkedHashMap<>();
    private final List<ExceptionAgent> exceptionAgents = new ArrayList<>();
    private HostAgent hostAgent;
    private HealthChecker health;
    private static final int HOST_RING_CAPACITY = 1024;
    private LongSupplier clockMillis = System::currentTimeMillis;
    private boolean closed;
    private int mbufsPerPool;
    /** What runs now: replaced whole by an accepted reload (on the control thread). */
    private volatile ProxyConfig running;
    private volatile ProxyKeys runningKeys;
    private BackendDirector director;
    private final List<OneToOneConcurrentArrayQueue<io.synproxy.engine.EngineSettings>> settingsQueues =
        new ArrayList<>();
    private final ErrorReporter errors = new ErrorReporter(System.err, System::currentTimeMillis);
    private io.synproxy.metrics.MetricsServer metrics;
    /** The cores the process's threads had before the workers' were taken from them (null: unchanged). */
    private java.util.BitSet allCores;
    private org.agrona.concurrent.status.AtomicCounter generation;
    private org.agrona.concurrent.status.AtomicCounter reloadsApplied;
    private org.agrona.concurrent.status.AtomicCounter reloadsRefused;
    private org.agrona.concurrent.status.AtomicCounter saltEpoch;
    private org.agrona.concurrent.status.AtomicCounter saltNextChange;

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
        this.running = config;
        this.runningKeys = keys;
        Dpdk.initEal(dp.ealArgs());
        allCores = CpuAffinity.keepOffWorkerCores(dp, System.out);
        mbufsPerPool = dp.mbufs();
        final Map<Integer, MemorySegment> poolBySocket = new HashMap<>();
        for (final Dataplane.Port port : dp.ports()) {
            final int id = port.isPci() ? portByName(port) : Dpdk.probe(port.device());
            portIds.put(port.name(), id);
            links.put(port.name(), new PortLink(id, port));
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
            Dpdk.startPort(id, port.rxQueues(), txQueues.getOrDefault(port.name(), 0), dp.descriptors(), pool,
                port.txChecksumOffload());
            txChecksum.put(port.name(), Dpdk.txChecksum(id));
            System.out.println(txChecksumReport(port, Dpdk.txChecksumOffered(id), txChecksum.get(port.name())));
            Shim.portPromiscuous(id, true);
            if (port.hasHost()) {
                // The kernel interface carries the port's MAC: the kernel's ARP and ND answers name the port.
                final int tap = Dpdk.probe("net_tap_sp" + hostPorts.size() + ",iface=" + port.hostInterface()
                    + ",mac=" + io.synproxy.packet.EthernetHeader.format(Dpdk.mac(id)));
                // No TX offload: the kernel's frames carry their own checksums, and ours to it are the port's.
                Dpdk.startPort(tap, 1, 1, dp.descriptors(), pool, false);
                hostPorts.put(port.name(), tap);
            }
        }

        final SaltSchedule schedule = keys.saltSchedule(config);
        director = new BackendDirector(config, keys.authKey(), clockMillis, System.out);
        final BackendTable backends = director.initial();
        final SaltSnapshot initial = schedule.snapshotAt(clockMillis.getAsLong());
        stats = StatsFile.create(dp.statsFile(), dp.workers().size() * (EngineCounters.COUNT + PortWorker.EXTRA_COUNTERS)
            + portIds.size() * PortStatsAgent.countersPerPort() + pools.size() * PortStatsAgent.countersPerPool()
            + hostPorts.size() * ExceptionAgent.COUNTERS.length
            + 256);
        errors.recordIn(stats);
        generation = stats.newCounter("control config-generation");
        generation.setRelease(1);
        reloadsApplied = stats.newCounter("control reloads");
        reloadsRefused = stats.newCounter("control reloads-refused");
        saltEpoch = stats.newCounter("control salt-epoch");
        saltNextChange = stats.newCounter("control salt-next-change-ms");
        Telemetry.publish(stats, System.out);
        final List<OneToOneConcurrentArrayQueue<SaltSnapshot>> queues = new ArrayList<>();
        final List<OneToOneConcurrentArrayQueue<BackendTable>> backendQueues = new ArrayList<>();
        for (int i = 0; i < dp.workers().size(); i++) {
            final Dataplane.Worker w = dp.workers().get(i);
            final PacketEngine engine = new PacketEngine(config, keys, initial, backends);
            engine.setMacs(Dpdk.mac(portIds.get(w.port())), Dpdk.mac(portIds.get(w.backendPort())));
            // SYN-ACKs leave by the receiving port, encapsulated packets by the backend port: each by its own.
            engine.setTxChecksumOffload(txChecksum.get(w.port()), txChecksum.get(w.backendPort()));
            if (dp.port(w.port()).hasHost()) {
                engine.setHostPath(hostAddresses(dp), dp.host().controlPeers(), dp.host().passOther());
            }
            final OneToOneConcurrentArrayQueue<SaltSnapshot> queue = ControlAgent.newQueue();
            queues.add(queue);
            final OneToOneConcurrentArrayQueue<io.synproxy.engine.EngineSettings> settingsQueue =
                new OneToOneConcurrentArrayQueue<>(4);
            settingsQueues.add(settingsQueue);
            final OneToOneConcurrentArrayQueue<BackendTable> backendQueue = new OneToOneConcurrentArrayQueue<>(4);
            backendQueues.add(backendQueue);
            engines.add(engine);
            workers.add(new PortWorker(w.name(), portIds.get(w.port()), w.queue(), clientTx[i],
                portIds.get(w.backendPort()), backendTx[i], engine, clockMillis, arena).salts(queue).backends(backendQueue).settings(settingsQueue).counters(stats).pinTo(w.core()));
        }
        control = new ControlAgent(schedule, clockMillis, queues, backendQueues, () -> reload(config.file()))
            .initialBackends(backends).rebuildWith(() -> director.build(control.baseBackends(), "health"))
            .settingsTo(settingsQueues);
        health = new HealthChecker(director, control::requestRebuild, stats, System.out);
        director.publishTo(stats).build(null, "start");
        wireHostPaths(dp);
        if (!hostPorts.isEmpty()) {
            hostAgent = new HostAgent(dp, config.vips(), control, this::unhealthy, System.out);
            hostAgent.setUp();
        }
        for (final PortWorker worker : workers) {
            runners.add(startRunner(new AgentRunner(dp.idle().equals(Dataplane.BACKOFF)
                // Spins, then yields, then sleeps 1 us doubling to 1 ms: a shared machine gets its cores back.
                ? new BackoffIdleStrategy(100, 100, 1_000, 1_000_000) : new BusySpinIdleStrategy(),
                this::fail, null, worker)));
        }
        if (!exceptionAgents.isEmpty()) {
            // The kernel's frames wait at most ~200 us here; a flood to the host keeps this thread busy, not a worker.
            runners.add(startRunner(new AgentRunner(new BackoffIdleStrategy(10, 10, 1_000, 200_000), this::fail,
                null, new CompositeAgent(exceptionAgents))));
        }
        if (hostAgent != null) {
            runners.add(startRunner(new AgentRunner(new SleepingMillisIdleStrategy(50), this::fail, null,
                hostAgent)));
        }
        health.start();
        if (dp.metrics() != null) {
            metrics = newMetricsServer(dp);
            try {
                metrics.listen(dp.metrics());
            } catch (final java.io.IOException e) {
                throw new IllegalStateException(config.file() + ": " + e.getMessage(), e);
            }
        }
        // The control thread also copies the ports' own counters out; both are mostly asleep.
        final Agent controlThread = new CompositeAgent(new PinnedAgent(control, dp.controlCore()),
            new PortStatsAgent(portIds, links, txChecksum, pools, stats), new SaltPublisher());
        runners.add(startRunner(new AgentRunner(new SleepingMillisIdleStrategy(1), this::fail, null,
            controlThread)));
    }

    /**
     * The start-up line on a port's TX checksum offload, e.g. {@code port edge: TX checksum offload in use: IPv4
     * header, TCP (the port offers IPv4 header, TCP; tx_checksum_offload = "auto")}.
     */
    static String txChecksumReport(final Dataplane.Port port, final int offered, final int enabled) {
        final String setting = "tx_checksum_offload = \"" + (port.txChecksumOffload() ? Dataplane.OFFLOAD_AUTO
            : Dataplane.OFFLOAD_OFF) + "\"";
        return "port " + port.name() + ": TX checksum offload " + (enabled == 0 ? "not in use, every checksum in "
            + "software" : "in use: " + Dpdk.describeTxChecksum(enabled)) + " (the port offers "
            + Dpdk.describeTxChecksum(offered) + "; " + setting + ")";
    }

    /** Every host address of every port: the host is one host, whichever port a frame for it arrives on. */
    private static List<io.synproxy.config.IpAddress> hostAddresses(final Dataplane dp) {
        final List<io.synproxy.config.IpAddress> out = new ArrayList<>();
        for (final Dataplane.Port port : dp.ports()) {
            for (final io.synproxy.config.IpPrefix prefix : port.hostAddresses()) {
                out.add(prefix.address());
            }
        }
        return out;
    }

    /**
     * Per port with a host interface: each of its workers gets two rings toward the kernel, one worker of the port
     * (or, failing that, one whose backend port it is) a ring from it, and an {@link ExceptionAgent} joins them.
     */
    private void wireHostPaths(final Dataplane dp) {
        for (final Map.Entry<String, Integer> host : hostPorts.entrySet()) {
            final String portName = host.getKey();
            final List<ExceptionAgent.WorkerRings> rings = new ArrayList<>();
            PortWorker sender = null;
            boolean viaBackend = false;
            for (int i = 0; i < workers.size(); i++) {
                final Dataplane.Worker w = dp.workers().get(i);
                if (w.port().equals(portName)) {
                    final ExceptionAgent.WorkerRings r = new ExceptionAgent.WorkerRings(
                        new FrameRing(HOST_RING_CAPACITY, arena), new FrameRing(HOST_RING_CAPACITY, arena));
                    workers.get(i).toHost(r.control(), r.other());
                    rings.add(r);
                    if (sender == null || viaBackend) {
                        sender = workers.get(i);
                        viaBackend = false;
                    }
                } else if (w.backendPort().equals(portName) && sender == null) {
                    sender = workers.get(i);
                    viaBackend = true;
                }
            }
            final FrameRing fromKernel = new FrameRing(HOST_RING_CAPACITY, arena);
            if (sender != null) {
                sender.fromHost(fromKernel, viaBackend);
            }
            exceptionAgents.add(new ExceptionAgent("host-" + portName, host.getValue(), rings, fromKernel,
                dp.host().ratePps(), dp.host().burst(), arena).counters(stats));
        }
    }

    /** Why the node should not be announced (a port down, a worker not polling, a stale salt), or null. */
    String unhealthy() {
        for (final Map.Entry<String, PortLink> link : links.entrySet()) {
            if (!link.getValue().up()) {
                return "port " + link.getKey() + " is down";
            }
        }
        final long now = System.nanoTime();
        for (final PortWorker worker : workers) {
            if (now - worker.heartbeatNanos() > 1_000_000_000L) {
                return worker.roleName() + " has not polled for " + (now - worker.heartbeatNanos()) / 1_000_000
                    + " ms";
            }
        }
        final long millis = clockMillis.getAsLong();
        for (final PacketEngine engine : engines) {
            if (millis - engine.salts().epochEndMillis() >= PacketEngine.STALE_SALT_AFTER_MILLIS) {
                return "the control thread has published no salt for the current epoch";
            }
        }
        return null;
    }

    /**
     * Withdraws the VIPs (the BGP daemon stops announcing them) and keeps serving: the first step of a drain.
     * Returns false when nothing announces them (no host interface or no announce table).
     */
    public boolean drain() {
        if (hostAgent == null || !hostAgent.announces()) {
            return false;
        }
        hostAgent.drain();
        return true;
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

    private void fail(final Throwable error) {
        errors.report(error);
    }

    /** The salt state for the counters (and so the metrics): on the control thread, a few stores a round. */
    private final class SaltPublisher implements Agent {
        @Override
        public int doWork() {
            final io.synproxy.cookie.SaltSchedule schedule = control.schedule();
            final long now = clockMillis.getAsLong();
            saltEpoch.setRelease(schedule.epochAt(now));
            saltNextChange.setRelease(schedule.nextChangeMillis(now));
            return 0;
        }

        @Override
        public String roleName() {
            return "salt-publisher";
        }
    }

    /**
     * A reload (SIGHUP, `synproxy reload`), on the control thread: the file and its key files validated in full,
     * then everything that needs no new port, queue or core applied: engine settings (VIPs, TCP and MSS options, the
     * host path's policy), keys (salts, authenticators), backends and next hops, metrics. A file that fails, or
     * that changes what needs a restart, changes nothing: the reason is logged, recorded in the error log and
     * counted. Returns the next backend table, or null when refused.
     */
    private BackendTable reload(final java.nio.file.Path file) {
        final ProxyConfig fresh;
        final ProxyKeys freshKeys;
        try {
            fresh = ProxyConfig.load(file);
            freshKeys = ProxyKeys.load(fresh);
        } catch (final io.synproxy.config.ConfigException | java.io.IOException e) {
            return refuse(e.getMessage());
        }
        final ProxyConfig was = running;
        final List<String> restart = io.synproxy.config.RestartCheck.differences(was, fresh);
        if (!restart.isEmpty()) {
            return refuse(file + ": " + String.join(", ", restart) + " changed, which needs a restart; nothing "
                + "applied (put the running values back to reload the rest, or restart)");
        }
        if (!java.util.Arrays.equals(runningKeys.flowSeed(), freshKeys.flowSeed())) {
            return refuse(fresh.cookie().secretFile() + ": the flow hash seed changed, which would move every flow "
                + "to another backend; nothing applied (rotate with `synproxy key-rotate`, which pins the seed in a "
                + "flow line)");
        }
        if (metrics != null || fresh.dataplane().metrics() != null) {
            try {
                if (metrics == null) {
                    metrics = newMetricsServer(fresh.dataplane());
                }
                metrics.listen(fresh.dataplane().metrics());
            } catch (final java.io.IOException e) {
                return refuse(file + ": " + e.getMessage() + "; nothing else applied");
            }
        }
        final Dataplane dp = fresh.dataplane();
        final List<io.synproxy.engine.EngineSettings> settings = new ArrayList<>();
        for (final Dataplane.Worker w : dp.workers()) {
            settings.add(dp.port(w.port()).hasHost()
                ? io.synproxy.engine.EngineSettings.withHost(fresh, freshKeys.flowHash(), hostAddresses(dp),
                    dp.host().controlPeers(), dp.host().passOther())
                : io.synproxy.engine.EngineSettings.of(fresh, freshKeys.flowHash()));
        }
        control.publishSettings(settings);
        control.replaceSchedule(freshKeys.saltSchedule(fresh));
        for (final ExceptionAgent agent : exceptionAgents) {
            agent.limit(dp.host().ratePps(), dp.host().burst());
        }
        if (hostAgent != null) {
            hostAgent.vips(fresh.vips());
        }
        final BackendTable table = director.apply(fresh, freshKeys.authKey(), control.baseBackends());
        running = fresh;
        runningKeys = freshKeys;
        reloadsApplied.increment();
        final long now = generation.incrementRelease() + 1;
        System.out.println("reload: configuration " + now + " applied from " + file + " (cookie keys "
            + (freshKeys.acceptSecret() == null ? "one" : "two: a rotation is under way") + ")");
        return table;
    }

    private BackendTable refuse(final String why) {
        reloadsRefused.increment();
        errors.report("reload refused, the running configuration stays: " + why);
        return null;
    }

    /** The proxy's error reporter (log lines rate-limited, each distinct error kept in the counters file). */
    public ErrorReporter errors() {
        return errors;
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

    /** Free mbufs in the data plane's pools (per-core caches included): back to their size when nothing is held. */
    public long mbufsFree() {
        long free = 0;
        for (final MemorySegment pool : pools) {
            free += Integer.toUnsignedLong(Shim.mempoolAvailable(pool));
        }
        return free;
    }

    /** The mbufs of all the data plane's pools (one per NUMA socket of the ports). */
    public long mbufsTotal() {
        return (long) pools.size() * mbufsPerPool;
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
        CloseHelper.close(health);
        CloseHelper.close(metrics);
        CloseHelper.closeAll(runners);
        final List<Integer> allPorts = new ArrayList<>(portIds.values());
        allPorts.addAll(hostPorts.values());
        for (final int id : allPorts) {
            try {
                Dpdk.stopPort(id);
            } catch (final DpdkException e) {
                System.err.println("synproxy: " + e.getMessage());
            }
        }
        pools.forEach(Shim::mempoolFree);
        CloseHelper.close(stats);
        arena.close();
        CpuAffinity.restore(allCores);
    }

    /** The metrics endpoint over this node's counters file, not yet listening: at start, or on a reload that adds it. */
    private io.synproxy.metrics.MetricsServer newMetricsServer(final Dataplane dp) {
        return new io.synproxy.metrics.MetricsServer(new io.synproxy.metrics.CounterCollector(stats.reader(), dp,
            io.synproxy.cli.Version.VERSION, io.synproxy.cli.Version.DPDK, clockMillis));
    }
}
