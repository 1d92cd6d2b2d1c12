package io.synproxy.dataplane;

import io.synproxy.config.Dataplane;
import io.synproxy.config.Host;
import io.synproxy.config.IpAddress;
import io.synproxy.config.IpPrefix;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.BackendTable;
import io.synproxy.packet.EthernetHeader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.agrona.concurrent.Agent;

/**
 * The node's side of the kernel, on a thread of its own (it waits on {@code ip}): it sets up each port's host
 * interface (up, the host's addresses, its default routes, neighbour timers short enough to follow a router that
 * changes its MAC within seconds), resolves the backends' next hops through the kernel's neighbour table, and keeps a
 * route per VIP in {@code announce.table} exactly while the node is healthy and not draining: the BGP daemon learns
 * those routes and announces the VIPs. The routes hang off the host interface, which the kernel deletes with them
 * when the process dies.
 *
 * <p>Next hops, resolved by the kernel rather than by the data plane: the kernel already runs ARP and neighbour
 * discovery on the host interface for the host's own traffic (through the exception path), with its state machine,
 * duplicate detection and gratuitous-ARP handling; a "managed" neighbour entry (Linux 5.16+) makes it keep each next
 * hop resolved whether or not the kernel itself sends to it. This agent reads the table twice a second and hands
 * the workers new MACs through the control thread when one changes.
 */
final class HostAgent implements Agent {
    private static final long NEIGHBOUR_PERIOD_NANOS = 500_000_000L;
    private static final long ROUTE_LOOKUP_PERIOD_NANOS = 10_000_000_000L;
    private static final long REASSERT_PERIOD_NANOS = 5_000_000_000L;
    private static final Set<String> USABLE_STATES = Set.of("REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT",
        "NOARP");

    private final Dataplane dataplane;
    private volatile List<ProxyConfig.Vip> vips;
    private final ControlAgent control;
    private final Supplier<String> unhealthy;
    private final PrintStream log;
    /** The interface next hops are resolved on: the backend port's host interface (null: none). */
    private final String resolveOn;
    private final String announceOn;
    private final int announceTable;
    private volatile boolean draining;
    private boolean announced;
    private String lastProblem = "";
    private long lastNeighbours;
    private long lastRouteLookup;
    private long lastAssert;
    private final Map<String, IpAddress> routedNextHop = new HashMap<>();
    private final Set<String> managedEntries = new HashSet<>();
    private Map<String, Long> lastMacs = Map.of();
    private volatile int resolvedCount;
    private volatile int backendCount;

    /** The VIPs from now on (a reload): routes follow at the next health round. */
    void vips(final List<ProxyConfig.Vip> next) {
        final List<ProxyConfig.Vip> before = vips;
        vips = List.copyOf(next);
        if (!before.toString().equals(next.toString())) {
            changedVips = before;
        }
    }

    /** VIPs replaced by a reload whose routes must go (the agent's thread removes them), or null. */
    private volatile List<ProxyConfig.Vip> changedVips;

    HostAgent(final Dataplane dataplane, final List<ProxyConfig.Vip> vips, final ControlAgent control,
              final Supplier<String> unhealthy, final PrintStream log) {
        this.dataplane = dataplane;
        this.vips = vips;
        this.control = control;
        this.unhealthy = unhealthy;
        this.log = log;
        final Host host = dataplane.host();
        final String backendPort = dataplane.workers().get(0).backendPort();
        this.resolveOn = dataplane.port(backendPort).hostInterface();
        this.announceOn = host.announcePort() == null ? null : dataplane.port(host.announcePort()).hostInterface();
        this.announceTable = host.announceTable();
    }

    /** Configures every host interface; runs on the starting thread, before the workers take traffic. */
    void setUp() {
        final Host host = dataplane.host();
        for (final Dataplane.Port port : dataplane.ports()) {
            if (!port.hasHost()) {
                continue;
            }
            final String dev = port.hostInterface();
            IpCommand.require("host interface " + dev, "link", "set", "dev", dev, "up");
            // Short neighbour timers: a next hop that changes its MAC without telling (no gratuitous ARP) is
            // re-probed within seconds rather than after the default 30 s of REACHABLE plus 5 of DELAY.
            for (final String family : List.of("ipv4", "ipv6")) {
                sysctl("net/" + family + "/neigh/" + dev + "/base_reachable_time_ms", "5000");
                sysctl("net/" + family + "/neigh/" + dev + "/delay_first_probe_time", "1");
                sysctl("net/" + family + "/neigh/" + dev + "/retrans_time_ms", "500");
            }
            for (final IpPrefix address : port.hostAddresses()) {
                if (address.address().v6()) {
                    // nodad: the address is ours by configuration; it must serve BGP at once, not in 2 s.
                    IpCommand.require("host interface " + dev, "-6", "addr", "replace", address.toString(), "dev", dev,
                        "nodad");
                } else {
                    IpCommand.require("host interface " + dev, "addr", "replace", address.toString(), "dev", dev);
                }
            }
        }
        final String gatewayOn = resolveOn != null ? resolveOn : announceOn;
        if (host.gatewayV4() != null && gatewayOn != null) {
            IpCommand.require("default route", "route", "replace", "default", "via", host.gatewayV4().text(), "dev",
                gatewayOn);
        }
        if (host.gatewayV6() != null && gatewayOn != null) {
            IpCommand.require("default route", "-6", "route", "replace", "default", "via", host.gatewayV6().text(),
                "dev", gatewayOn);
        }
        if (announceOn != null && announceTable != 0) {
            withdraw(); // leftovers of a previous run that could not clean up
        }
        log.println("host: " + dataplane.ports().stream().filter(Dataplane.Port::hasHost).map(p -> p.hostInterface()
            + " " + p.hostAddresses()).toList() + (announceOn != null && announceTable != 0 ? "; VIP routes in table "
            + announceTable + " on " + announceOn + " while healthy" : ""));
    }

    private static void sysctl(final String key, final String value) {
        try {
            Files.writeString(Path.of("/proc/sys", key), value);
        } catch (final IOException e) {
            throw new DpdkException("cannot set " + key.replace('/', '.') + " = " + value + ": " + e.getMessage());
        }
    }

    @Override
    public int doWork() {
        final long now = System.nanoTime();
        int work = 0;
        if (resolveOn != null && now - lastNeighbours >= NEIGHBOUR_PERIOD_NANOS) {
            lastNeighbours = now;
            resolveNextHops(now);
            work++;
        }
        if (announceOn != null && announceTable != 0) {
            work += announce(now);
        }
        return work;
    }

    private int announce(final long now) {
        final List<ProxyConfig.Vip> replaced = changedVips;
        if (replaced != null) {
            // A reload changed the VIPs: the routes of those no longer configured go now, the new ones come below.
            changedVips = null;
            final java.util.Set<String> kept = new java.util.HashSet<>();
            vips.forEach(v -> kept.add(v.address().text()));
            withdraw(replaced.stream().filter(v -> !kept.contains(v.address().text())).toList());
            lastAssert = now - REASSERT_PERIOD_NANOS; // the new VIPs' routes at once
        }
        String problem = draining ? "draining" : unhealthy.get();
        if (problem == null && backendCount > 0 && resolvedCount == 0) {
            problem = "no backend's next hop is resolved";
        }
        if (problem != null) {
            if (!problem.equals(lastProblem)) {
                log.println("host: not announcing the VIPs: " + problem);
                lastProblem = problem;
            }
            if (announced) {
                withdraw();
                announced = false;
                log.println("host: VIP routes withdrawn from table " + announceTable);
                return 1;
            }
            return 0;
        }
        lastProblem = "";
        if (!announced || now - lastAssert >= REASSERT_PERIOD_NANOS) {
            // Re-asserted now and then: routes someone removed by hand come back while the node is healthy.
            for (final ProxyConfig.Vip vip : vips) {
                final IpCommand.Result r = vip.address().v6()
                    ? IpCommand.run("-6", "route", "replace", vip.address().text() + "/128", "dev", announceOn,
                        "table", String.valueOf(announceTable), "proto", "static")
                    : IpCommand.run("route", "replace", vip.address().text() + "/32", "dev", announceOn, "table",
                        String.valueOf(announceTable), "proto", "static");
                if (!r.ok()) {
                    log.println("host: cannot install the route for VIP " + vip.address() + ": " + r.err());
                }
            }
            lastAssert = now;
            if (!announced) {
                log.println("host: VIP routes installed in table " + announceTable + " (healthy)");
                announced = true;
                return 1;
            }
        }
        return 0;
    }

    private void withdraw() {
        withdraw(vips);
    }

    private void withdraw(final List<ProxyConfig.Vip> routes) {
        for (final ProxyConfig.Vip vip : routes) {
            if (vip.address().v6()) {
                IpCommand.run("-6", "route", "del", vip.address().text() + "/128", "table",
                    String.valueOf(announceTable));
            } else {
                IpCommand.run("route", "del", vip.address().text() + "/32", "table", String.valueOf(announceTable));
            }
        }
    }

    /** Withdraws the VIPs now and keeps them withdrawn (SIGTERM, `synproxy drain`); safe from any thread. */
    void drain() {
        draining = true;
        if (announceOn != null && announceTable != 0) {
            withdraw();
        }
    }

    boolean announces() {
        return announceOn != null && announceTable != 0;
    }

    /** Each resolved backend's next hop, its kernel neighbour entry, and the MACs the workers should use. */
    private void resolveNextHops(final long now) {
        final BackendTable table = control.baseBackends();
        if (table == null) {
            return;
        }
        final boolean lookup = now - lastRouteLookup >= ROUTE_LOOKUP_PERIOD_NANOS;
        if (lookup) {
            lastRouteLookup = now;
        }
        final Map<String, IpAddress> hopOf = new LinkedHashMap<>();
        int resolvable = 0;
        for (int i = 0; i < table.size(); i++) {
            if (!table.resolved(i)) {
                continue;
            }
            resolvable++;
            IpAddress hop = table.nextHop(i);
            if (hop == null) {
                hop = lookup || !routedNextHop.containsKey(table.address(i)) ? routeNextHop(table.address(i))
                    : routedNextHop.get(table.address(i));
                routedNextHop.put(table.address(i), hop);
            }
            if (hop != null) {
                hopOf.put(table.address(i), hop);
            }
        }
        final Map<String, String[]> neighbours = neighbours();
        for (final IpAddress hop : new HashSet<>(hopOf.values())) {
            if (!neighbours.containsKey(hop.text()) || !managedEntries.contains(hop.text())) {
                // Managed: the kernel keeps it resolved (and re-probes it) although it never sends to it itself.
                final IpCommand.Result r = IpCommand.run("neigh", "replace", hop.text(), "dev", resolveOn, "managed");
                if (r.ok()) {
                    managedEntries.add(hop.text());
                } else {
                    log.println("host: cannot add a neighbour entry for next hop " + hop + " on " + resolveOn + ": "
                        + r.err());
                }
            }
        }
        final Map<String, Long> macs = new HashMap<>();
        for (final Map.Entry<String, IpAddress> entry : hopOf.entrySet()) {
            final String[] neighbour = neighbours.get(entry.getValue().text());
            if (neighbour != null && neighbour[0] != null && USABLE_STATES.contains(neighbour[1])) {
                macs.put(entry.getKey(), EthernetHeader.parse(neighbour[0]));
            }
        }
        backendCount = resolvable;
        resolvedCount = macs.size();
        if (!macs.equals(lastMacs)) {
            for (final Map.Entry<String, IpAddress> entry : hopOf.entrySet()) {
                final Long before = lastMacs.get(entry.getKey());
                final Long after = macs.get(entry.getKey());
                if (!java.util.Objects.equals(before, after)) {
                    log.println("host: backend " + entry.getKey() + " via " + entry.getValue() + ": "
                        + (after == null ? "unresolved" : EthernetHeader.format(after))
                        + (before == null ? "" : " (was " + EthernetHeader.format(before) + ")"));
                }
            }
            lastMacs = Map.copyOf(macs);
            control.resolvedMacs(macs);
        }
    }

    /** The kernel's next hop toward a backend through the host interface: its gateway, or itself when on-link. */
    private IpAddress routeNextHop(final String backend) {
        final IpAddress address = IpAddress.parse(backend);
        final IpCommand.Result r = IpCommand.run(address.v6() ? "-6" : "-4", "-o", "route", "get", backend);
        if (!r.ok()) {
            log.println("host: no route to backend " + backend + ": " + r.err());
            return null;
        }
        final String[] words = r.out().trim().split("\\s+");
        String via = null;
        String dev = null;
        for (int i = 0; i + 1 < words.length; i++) {
            if (words[i].equals("via")) {
                via = words[i + 1];
            } else if (words[i].equals("dev")) {
                dev = words[i + 1];
            }
        }
        if (!resolveOn.equals(dev)) {
            log.println("host: the route to backend " + backend + " leaves by " + dev + ", not by the data plane's "
                + resolveOn + "; set its next_hop, or route it through " + resolveOn);
            return null;
        }
        return via == null ? address : IpAddress.parse(via);
    }

    /** The neighbour table of the resolving interface: address -> {MAC or null, state}. */
    private Map<String, String[]> neighbours() {
        final Map<String, String[]> out = new HashMap<>();
        final IpCommand.Result r = IpCommand.run("-o", "neigh", "show", "dev", resolveOn);
        if (!r.ok()) {
            return out;
        }
        for (final String line : r.out().split("\n")) {
            final String[] words = line.trim().split("\\s+");
            if (words.length < 2) {
                continue;
            }
            String mac = null;
            for (int i = 1; i + 1 < words.length; i++) {
                if (words[i].equals("lladdr")) {
                    mac = words[i + 1];
                }
            }
            final IpAddress address = IpAddress.parse(words[0]);
            if (address != null) {
                out.put(address.text(), new String[] {mac, words[words.length - 1]});
            }
        }
        return out;
    }

    int resolvedBackends() {
        return resolvedCount;
    }

    @Override
    public void onClose() {
        if (announced) {
            withdraw();
        }
    }

    @Override
    public String roleName() {
        return "host";
    }
}
