package io.synproxy.config;

import java.util.ArrayList;
import java.util.List;

/**
 * [host] and [announce]: what the data plane hands the kernel through a port's host interface, and how the node
 * tells its BGP daemon which VIPs to announce.
 *
 * @param passOther     hand the kernel other traffic that is for neither a VIP nor a host address (default: drop,
 *                      counted)
 * @param ratePps       frames a second to the kernel beyond control traffic (token bucket)
 * @param burst         the bucket's depth
 * @param controlPeers  BGP/BFD peers: their frames, with ARP and neighbour discovery, go first and are never rate
 *                      limited
 * @param gatewayV4     the host's default route through its interface, or null
 * @param gatewayV6     the same for IPv6, or null
 * @param announceTable the kernel routing table that holds a route per VIP while the node is healthy (0: none)
 * @param announcePort  the port whose host interface carries those routes (null: none)
 */
public record Host(boolean passOther, long ratePps, long burst, List<IpAddress> controlPeers, IpAddress gatewayV4,
                   IpAddress gatewayV6, int announceTable, String announcePort) {
    public static final long DEFAULT_RATE_PPS = 20_000;
    public static final long DEFAULT_BURST = 2_000;
    public static final int DEFAULT_ANNOUNCE_TABLE = 100;

    static Host parse(final TomlTable root, final List<Dataplane.Port> ports) throws ConfigException {
        final boolean anyHost = ports.stream().anyMatch(Dataplane.Port::hasHost);
        final TomlTable h = root.table("host", false);
        h.allowOnly("other", "rate_pps", "burst", "control_peers", "gateway_v4", "gateway_v6");
        if (!anyHost && root.has("host")) {
            throw root.error("host", "is set but no [[port]] has a host_interface; allowed: [host] with at least one "
                + "port's host_interface");
        }
        final String other = h.string("other", "drop", "\"drop\" or \"pass\"");
        if (!other.equals("drop") && !other.equals("pass")) {
            throw h.error("other", "'" + other + "' is not allowed; allowed: \"drop\" (the default: traffic for "
                + "neither a VIP nor a host address is dropped and counted) or \"pass\" (the kernel gets it)");
        }
        final long rate = h.integer("rate_pps", DEFAULT_RATE_PPS, 1, 10_000_000);
        final long burst = h.integer("burst", DEFAULT_BURST, 1, 1_000_000);
        final List<IpAddress> peers = new ArrayList<>();
        for (final String text : h.strings("control_peers", List.of(), "addresses, e.g. [\"10.1.0.1\", \"fd01::1\"]")) {
            final IpAddress peer = IpAddress.parse(text);
            if (peer == null || peer.isUnspecified() || peer.isMulticast()) {
                throw h.error("control_peers", "'" + text + "' is not allowed; allowed: unicast IPv4 or IPv6 addresses "
                    + "(the BGP and BFD peers of this node)");
            }
            peers.add(peer);
        }
        final IpAddress gatewayV4 = gateway(h, "gateway_v4", false);
        final IpAddress gatewayV6 = gateway(h, "gateway_v6", true);

        final TomlTable a = root.table("announce", false);
        a.allowOnly("table", "port");
        final String firstHost = ports.stream().filter(Dataplane.Port::hasHost).map(Dataplane.Port::name).findFirst()
            .orElse(null);
        String port = firstHost;
        if (a.has("port")) {
            port = a.string("port", null, "the name of a [[port]] with a host_interface");
            final String named = port;
            if (ports.stream().noneMatch(p -> p.name().equals(named) && p.hasHost())) {
                throw a.error("port", "'" + port + "' is not a [[port]] with a host_interface; allowed: "
                    + String.join(", ", ports.stream().filter(Dataplane.Port::hasHost).map(Dataplane.Port::name)
                    .toList()));
            }
        }
        if (root.has("announce") && firstHost == null) {
            throw root.error("announce", "is set but no [[port]] has a host_interface; allowed: [announce] with a "
                + "port's host_interface to carry the routes");
        }
        final int table = (int) a.integer("table", anyHost ? (long) DEFAULT_ANNOUNCE_TABLE : 0L, 0, 0x7fffffff);
        if (table == 254 || table == 255) {
            throw a.error("table", table + " is the kernel's main or local table; allowed: 0 (no announcement) or a "
                + "table of its own, e.g. 100, that the BGP daemon learns from");
        }
        return new Host(other.equals("pass"), rate, burst, List.copyOf(peers), gatewayV4, gatewayV6, table, port);
    }

    private static IpAddress gateway(final TomlTable h, final String key, final boolean v6) throws ConfigException {
        if (!h.has(key)) {
            return null;
        }
        final String allowed = v6 ? "a literal IPv6 address" : "a literal IPv4 address";
        final String text = h.string(key, null, allowed);
        final IpAddress address = IpAddress.parse(text);
        if (address == null || address.v6() != v6 || address.isUnspecified() || address.isMulticast()) {
            throw h.error(key, "'" + text + "' is not allowed; allowed: " + allowed);
        }
        return address;
    }
}
