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
 */
public record Dataplane(List<String> ealArgs, int controlCore, int mbufs, int descriptors, Path statsFile,
                        List<Port> ports, List<Worker> workers) {

    /** A port: a label, and the DPDK device (a PCI address EAL probed, or virtual device arguments to hot-plug). */
    public record Port(String name, String device, int rxQueues) {
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
        d.allowOnly("eal_args", "control_core", "mbufs", "descriptors", "stats_file");
        final List<String> eal = d.strings("eal_args", List.of(), "an array of EAL arguments, e.g. [\"-l\", \"0\", "
            + "\"--in-memory\"]");
        final String coresText = "a core that is online on this machine (" + describe(onlineCores) + ")";
        final int control = d.has("control_core") ? core(d, "control_core", onlineCores, coresText) : -1;
        final int mbufs = (int) d.integer("mbufs", 8191L, 1023, 16_777_215);
        final int descriptors = (int) d.integer("descriptors", 1024L, 64, 16384);
        final Path stats = d.has("stats_file") ? d.path("stats_file", "a path") : Path.of("/dev/shm/synproxy-stats");

        final List<Port> ports = new ArrayList<>();
        final Set<String> names = new HashSet<>();
        for (final TomlTable p : root.tables("port")) {
            p.allowOnly("name", "device", "rx_queues");
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
            ports.add(new Port(name, device, (int) p.integer("rx_queues", 1L, 1, 128)));
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
        return new Dataplane(List.copyOf(eal), control, mbufs, descriptors, stats, List.copyOf(ports),
            List.copyOf(workers));
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
