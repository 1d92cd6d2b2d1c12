package io.synproxy.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The [dataplane] section, its [[port]]s and [[worker]]s: what `run` needs beyond the packet engine's settings.
 *
 * @param ealArgs     EAL arguments, as on a DPDK command line
 * @param controlCore the control thread's core, or -1 to leave it unpinned
 * @param mbufs       mbufs per mempool
 * @param descriptors RX and TX descriptors per queue
 * @param statsFile   the counters file that `stat` reads
 * @param idle        what a worker does when a poll finds nothing: {@link #BUSY_SPIN} or {@link #BACKOFF}
 * @param drainSeconds after SIGTERM (or `drain`): how long the proxy keeps serving once its VIPs are withdrawn
 * @param host        the exception path and the announcement ([host], [announce])
 * @param metrics     where Prometheus scrapes ([metrics]), or null
 */
public record Dataplane(List<String> ealArgs, int controlCore, int mbufs, int descriptors, Path statsFile,
                        List<Port> ports, List<Worker> workers, String idle, int drainSeconds, Host host,
                        Metrics metrics) {
    public static final String BUSY_SPIN = "busy-spin";
    public static final String BACKOFF = "backoff";
    /** {@code [[port]] tx_checksum_offload}: use the port's TX checksum offloads when it offers them, or never. */
    public static final String OFFLOAD_AUTO = "auto";
    public static final String OFFLOAD_OFF = "off";

    /**
     * A port: a label, the DPDK device (a PCI address EAL probed, or virtual device arguments to hot-plug), and
     * optionally the kernel interface (net_tap) that carries the host's own traffic, with the host's addresses;
     * {@code txChecksumOffload}: the port computes the checksums of what the engine sends when it offers to
     * ({@code tx_checksum_offload = "auto"}, the default), or never ({@code "off"}).
     */
    public record Port(String name, String device, int rxQueues, String hostInterface, List<IpPrefix> hostAddresses,
                       boolean txChecksumOffload) {
        public boolean hasHost() {
            return hostInterface != null;
        }

        /** This port with another TX checksum offload setting (what a reload compares the rest of the port by). */
        public Port withTxChecksumOffload(final boolean offload) {
            return new Port(name, device, rxQueues, hostInterface, hostAddresses, offload);
        }

        public boolean isPci() {
            return device.matches("[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");
        }

        /** The name DPDK gives the device's port: the PCI address, or the virtual device's name. */
        public String dpdkName() {
            return device.split(",", 2)[0];
        }
    }

    /** A worker: one RX queue of one port, pinned to one core; encapsulated packets leave by {@code backendPort}. */
    public record Worker(String name, String port, int queue, int core, String backendPort) {
    }

    public Port port(final String name) {
        return ports.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    }

    static Dataplane parse(final TomlTable root, final BitSet onlineCores) throws ConfigException {
        final TomlTable d = root.table("dataplane", true);
        d.allowOnly("eal_args", "control_core", "mbufs", "descriptors", "stats_file", "idle", "drain_seconds");
        final List<String> eal = d.strings("eal_args", List.of(), "an array of EAL arguments, e.g. [\"-l\", \"0\", "
            + "\"--in-memory\"]");
        final String coresText = "a core that is online on this machine (" + describe(onlineCores) + ")";
        final int control = d.has("control_core") ? core(d, "control_core", onlineCores, coresText) : -1;
        final int mbufs = (int) d.integer("mbufs", 8191L, 1023, 16_777_215);
        final int descriptors = (int) d.integer("descriptors", 1024L, 64, 16384);
        final Path stats = d.has("stats_file") ? d.path("stats_file", "a path") : Path.of("/dev/shm/synproxy-stats");
        final String idle = d.string("idle", BUSY_SPIN, "\"" + BUSY_SPIN + "\" (lowest latency, a core per worker at "
            + "100%) or \"" + BACKOFF + "\" (spins, then yields, then sleeps up to 1 ms: for machines shared with "
            + "other work)");
        if (!idle.equals(BUSY_SPIN) && !idle.equals(BACKOFF)) {
            throw d.error("idle", "'" + idle + "' is not allowed; allowed: \"" + BUSY_SPIN + "\" or \"" + BACKOFF
                + "\"");
        }
        final int drain = (int) d.integer("drain_seconds", 5L, 0, 3600);

        final List<Port> ports = new ArrayList<>();
        final Set<String> names = new HashSet<>();
        final Set<String> interfaceNames = new HashSet<>();
        for (final TomlTable p : root.tables("port")) {
            p.allowOnly("name", "device", "rx_queues", "host_interface", "host_addresses", "tx_checksum_offload");
            final String name = p.string("name", null, "a label for the port, e.g. \"edge\"");
            if (!names.add(name)) {
                throw p.error("name", "'" + name + "' is used twice; allowed: a name no other [[port]] has");
            }
            final String device = p.string("device", null, "a PCI address (0000:01:00.0) or virtual device "
                + "arguments (net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap)");
            if (device.isBlank() || device.contains(" ")) {
                throw p.error("device", "'" + device + "' is not allowed; allowed: a PCI address or virtual device "
                    + "arguments without spaces");
            }
            final int rxQueues = (int) p.integer("rx_queues", 1L, 1, 128);
            String hostInterface = null;
            final List<IpPrefix> hostAddresses = new ArrayList<>();
            if (p.has("host_interface")) {
                hostInterface = p.string("host_interface", null, "a Linux interface name (1 to 15 letters, digits, "
                    + "'-', '_' or '.')");
                if (!hostInterface.matches("[A-Za-z0-9_.-]{1,15}") || !interfaceNames.add(hostInterface)) {
                    throw p.error("host_interface", "'" + hostInterface + "' is not allowed; allowed: a Linux "
                        + "interface name of 1 to 15 letters, digits, '-', '_' or '.', used by one port only");
                }
                for (final String text : p.strings("host_addresses", List.of(), "addresses with prefix lengths, e.g. "
                    + "[\"10.1.0.2/24\", \"fd01::2/64\"]")) {
                    final IpPrefix prefix = IpPrefix.parse(text);
                    if (prefix == null || prefix.address().isUnspecified() || prefix.address().isMulticast()) {
                        throw p.error("host_addresses", "'" + text + "' is not allowed; allowed: a unicast address "
                            + "with its prefix length, e.g. \"10.1.0.2/24\" or \"fd01::2/64\"");
                    }
                    hostAddresses.add(prefix);
                }
            } else if (p.has("host_addresses")) {
                throw p.error("host_addresses", "is set without " + p.key("host_interface") + "; allowed: only "
                    + "on a port with a host interface");
            }
            final String offload = p.string("tx_checksum_offload", OFFLOAD_AUTO, "\"" + OFFLOAD_AUTO + "\" or \""
                + OFFLOAD_OFF + "\"");
            if (!offload.equals(OFFLOAD_AUTO) && !offload.equals(OFFLOAD_OFF)) {
                throw p.error("tx_checksum_offload", "'" + offload + "' is not allowed; allowed: \"" + OFFLOAD_AUTO
                    + "\" (the port computes the IPv4 header and TCP checksums of what synproxy sends when it offers "
                    + "to) or \"" + OFFLOAD_OFF + "\" (every checksum in software)");
            }
            ports.add(new Port(name, device, rxQueues, hostInterface, List.copyOf(hostAddresses),
                offload.equals(OFFLOAD_AUTO)));
        }
        if (ports.isEmpty()) {
            throw root.error("port", "missing; at least one [[port]] with name and device is required to run");
        }

        final List<Worker> workers = new ArrayList<>();
        final Set<String> queues = new HashSet<>();
        final Map<Integer, String> cores = new HashMap<>();
        final List<TomlTable> workerTables = root.tables("worker");
        for (int i = 0; i < workerTables.size(); i++) {
            final TomlTable w = workerTables.get(i);
            w.allowOnly("port", "queue", "core", "backend_port");
            final String port = portName(w, "port", names);
            final Port rx = ports.stream().filter(p -> p.name().equals(port)).findFirst().orElseThrow();
            final int queue = (int) w.integer("queue", 0L, 0, rx.rxQueues() - 1);
            if (!queues.add(port + "/" + queue)) {
                throw w.error("queue", "port '" + port + "' queue " + queue + " already has a worker; allowed: one "
                    + "worker per queue");
            }
            final int core = core(w, "core", onlineCores, coresText);
            final String other = cores.putIfAbsent(core, "worker[" + i + "]");
            if (other != null) {
                throw w.error("core", core + " is already " + other + "'s; allowed: a core no other worker has");
            }
            final String backend = w.has("backend_port") ? portName(w, "backend_port", names) : port;
            workers.add(new Worker("worker-" + i, port, queue, core, backend));
        }
        if (workers.isEmpty()) {
            throw root.error("worker", "missing; at least one [[worker]] with port, queue and core is required to run");
        }
        final Host host = Host.parse(root, ports);
        return new Dataplane(List.copyOf(eal), control, mbufs, descriptors, stats, List.copyOf(ports),
            List.copyOf(workers), idle, drain, host, Metrics.parse(root));
    }

    private static String portName(final TomlTable table, final String key, final Set<String> names)
        throws ConfigException {
        final String name = table.string(key, null, "the name of a [[port]]");
        if (!names.contains(name)) {
            throw table.error(key, "'" + name + "' is not a [[port]] name; allowed: " + String.join(", ", names));
        }
        return name;
    }

    private static int core(final TomlTable table, final String key, final BitSet online, final String allowed)
        throws ConfigException {
        final long core = table.integer(key, null, 0, 4095);
        if (!online.get((int) core)) {
            throw table.error(key, core + " is not an online core; allowed: " + allowed);
        }
        return (int) core;
    }

    /** The online cores of this machine, from /sys (all of 0..availableProcessors-1 if it cannot be read). */
    public static BitSet onlineCores() {
        final BitSet cores = new BitSet();
        try {
            for (final String range : Files.readString(Path.of("/sys/devices/system/cpu/online")).strip().split(",")) {
                final String[] bounds = range.split("-");
                final int from = Integer.parseInt(bounds[0]);
                final int to = bounds.length > 1 ? Integer.parseInt(bounds[1]) : from;
                cores.set(from, to + 1);
            }
        } catch (final java.io.IOException | RuntimeException e) {
            cores.set(0, Runtime.getRuntime().availableProcessors());
        }
        return cores;
    }

    private static String describe(final BitSet cores) {
        return cores.toString().replace("{", "").replace("}", "");
    }
}
