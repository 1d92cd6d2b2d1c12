package io.synproxy.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.synproxy.packet.EncapHeader;
import io.synproxy.packet.EthernetHeader;
import io.synproxy.packet.Ipv4Header;
import io.synproxy.packet.Ipv6Header;
import io.synproxy.packet.TcpHeader;
import io.synproxy.packet.UdpHeader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The proxy's configuration: one immutable object, read from a TOML file and validated in full before anything
 * starts. Every error names the file, the key, the bad value and what is allowed. {@code config/synproxy.toml} at the
 * top of the repository is the commented reference.
 */
public record ProxyConfig(Path file, Cookie cookie, Tcp tcp, List<Vip> vips, Encap encap, List<Backend> backends,
                          int maglevTableSize, Dataplane dataplane, Changes changes) {

    /**
     * How backends change without breaking connections: after a change the previous owner of each Maglev slot that
     * changed hands is named for {@code chainSeconds} (daisy chaining), for {@code drainLimitSeconds} when it is
     * draining; {@code health} is null without health checks.
     */
    public record Changes(long chainSeconds, long drainLimitSeconds, Health health) {
    }

    /** [health]: a TCP connect or an HTTP GET to each backend's address, {@code rise} / {@code fall} in a row. */
    public record Health(boolean http, int port, String path, long intervalMillis, long timeoutMillis, int rise,
                         int fall) {
    }

    /** [cookie]: the secret, the salt schedule and the MSS tables. */
    public record Cookie(Path secretFile, long saltPeriodSeconds, long graceSeconds, long maxClockSkewMillis,
                         int[] mssV4, int[] mssV6) {
    }

    /** [tcp]: what our SYN-ACK offers. */
    public record Tcp(boolean windowScaling, int windowScale, int window, boolean sack, boolean timestamps,
                      boolean ecn) {
    }

    /** One [[vip]]: an address and the ports the proxy guards on it. */
    public record Vip(IpAddress address, int[] ports) {
    }

    /** [encap]: how validated traffic reaches the backends. */
    public record Encap(IpAddress sourceV4, IpAddress sourceV6, int port, Path authKeyFile, int backendMtu,
                        long nextHopMac, IpAddress nextHop) {
    }

    /**
     * One [[backend]] and how to reach it: a static next-hop MAC ({@code mac}, its own or the router's), else a next
     * hop by address ({@code nextHop}) whose MAC the host interface's neighbour table resolves, else (both absent:
     * {@link #NO_MAC}, null) the host's own route to the backend decides the next hop.
     */
    public record Backend(IpAddress address, long mac, IpAddress nextHop, boolean draining) {
        /** Whether the next hop's MAC is looked up while running (not given in the file). */
        public boolean resolved() {
            return mac == NO_MAC;
        }
    }

    public static final int[] DEFAULT_MSS_V4 = {536, 1300, 1440, 1460};
    public static final int[] DEFAULT_MSS_V6 = {1220, 1420, 1440, 8940};
    /** The kfunc bpf_sk_assign_tcp_reqsk refuses smaller MSS values (RFC 879 and RFC 8200 minimums). */
    public static final int MIN_MSS_V4 = 536;
    public static final int MIN_MSS_V6 = 1220;
    public static final int DEFAULT_MAGLEV_TABLE_SIZE = 65537;
    /** How far apart the proxy nodes' clocks may be (NTP keeps them within a few ms; 500 leaves room). */
    public static final long DEFAULT_MAX_CLOCK_SKEW_MS = 500;
    public static final long NO_MAC = -1;

    public static ProxyConfig load(final Path file) throws ConfigException {
        final String text;
        try {
            text = Files.readString(file);
        } catch (final IOException e) {
            throw new ConfigException(file + ": cannot read the configuration file (" + e.getClass().getSimpleName()
                + ": " + e.getMessage() + ")", e);
        }
        final JsonNode root;
        try {
            root = new TomlMapper().readTree(text);
        } catch (final JacksonException e) {
            throw new ConfigException(file + ": not valid TOML: " + e.getOriginalMessage()
                + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr() + ")" : ""), e);
        }
        if (!(root instanceof ObjectNode object)) {
            throw new ConfigException(file + ": the top level must be a TOML table");
        }
        return parse(new TomlTable(file, "", object));
    }

    private static ProxyConfig parse(final TomlTable root) throws ConfigException {
        root.allowOnly("cookie", "tcp", "vip", "encap", "backend", "maglev", "dataplane", "port", "worker", "host",
            "announce", "health", "metrics");

        final TomlTable c = root.table("cookie", true);
        c.allowOnly("secret_file", "salt_period_seconds", "grace_seconds", "max_clock_skew_ms", "mss_v4", "mss_v6");
        final Path secret = c.path("secret_file", "a path to a key file made by `synproxy keygen`");
        final long period = c.integer("salt_period_seconds", 60L, 1, 86_400);
        // The skew bound first: it decides the smallest grace allowed. Half a period at most, so that a cookie of the
        // next epoch and one of the previous never both need the window they would share.
        final long skew = c.integer("max_clock_skew_ms", Math.min(DEFAULT_MAX_CLOCK_SKEW_MS, period * 500), 0,
            period * 500);
        final long minGrace = (skew + 999) / 1000;
        final long grace = c.integer("grace_seconds", period, 0, period);
        if (grace < minGrace) {
            throw c.error("grace_seconds", grace + " is below " + c.key("max_clock_skew_ms") + " (" + skew + " ms): "
                + "a node whose clock runs behind would refuse every handshake that crosses an epoch boundary; "
                + "allowed: an integer from " + minGrace + " to " + period);
        }
        final int[] mssV4 = mssTable(c, "mss_v4", DEFAULT_MSS_V4, MIN_MSS_V4);
        final int[] mssV6 = mssTable(c, "mss_v6", DEFAULT_MSS_V6, MIN_MSS_V6);
        final Cookie cookie = new Cookie(secret, period, grace, skew, mssV4, mssV6);

        final TomlTable t = root.table("tcp", false);
        t.allowOnly("window_scaling", "window_scale", "window", "sack", "timestamps", "ecn");
        final Tcp tcp = new Tcp(t.bool("window_scaling", true), (int) t.integer("window_scale", 7L, 0, 14),
            (int) t.integer("window", 65535L, 1, 65535), t.bool("sack", true), t.bool("timestamps", true),
            t.bool("ecn", true));

        final List<Vip> vips = new ArrayList<>();
        final Set<String> seenVips = new HashSet<>();
        for (final TomlTable v : root.tables("vip")) {
            v.allowOnly("address", "ports");
            final IpAddress address = address(v, "address", Family.ANY);
            if (address.isUnspecified() || address.isMulticast()) {
                throw v.error("address", "'" + address + "' is not allowed; allowed: a unicast IPv4 or IPv6 address");
            }
            final long[] ports = v.integers("ports", null, 1, 64, 1, 65535);
            final int[] portList = new int[ports.length];
            for (int i = 0; i < ports.length; i++) {
                portList[i] = (int) ports[i];
                if (!seenVips.add(address + "|" + ports[i])) {
                    throw v.error("ports", "VIP " + address + " port " + ports[i] + " is listed twice; allowed: each "
                        + "address and port once");
                }
            }
            vips.add(new Vip(address, portList));
        }
        if (vips.isEmpty()) {
            throw root.error("vip", "missing; at least one [[vip]] with address and ports is required");
        }

        final TomlTable e = root.table("encap", true);
        e.allowOnly("source_v4", "source_v6", "port", "auth_key_file", "backend_mtu", "next_hop_mac", "next_hop");
        final IpAddress sourceV4 = e.has("source_v4") ? address(e, "source_v4", Family.V4) : null;
        final IpAddress sourceV6 = e.has("source_v6") ? address(e, "source_v6", Family.V6) : null;
        final int port = (int) e.integer("port", (long) EncapHeader.DEFAULT_PORT, 1, 65535);
        final Path authKey = e.path("auth_key_file", "a path to a key file made by `synproxy keygen` (shared with "
            + "the backends)");
        final int mtu = (int) e.integer("backend_mtu", 1500L, 1280, 9216);
        final long nextHopMac = e.has("next_hop_mac") ? mac(e, "next_hop_mac") : NO_MAC;
        final IpAddress nextHop = e.has("next_hop") ? unicast(e, "next_hop") : null;
        if (nextHop != null && nextHopMac != NO_MAC) {
            throw e.error("next_hop", "is set together with " + e.key("next_hop_mac") + "; allowed: one of them (a "
                + "next hop by address, resolved while running, or a static MAC)");
        }
        final Encap encap = new Encap(sourceV4, sourceV6, port, authKey, mtu, nextHopMac, nextHop);

        final List<Backend> backends = new ArrayList<>();
        final Set<IpAddress> seenBackends = new HashSet<>();
        for (final TomlTable b : root.tables("backend")) {
            b.allowOnly("address", "mac", "next_hop", "state");
            final IpAddress address = address(b, "address", Family.ANY);
            if (!seenBackends.add(address)) {
                throw b.error("address", "'" + address + "' is listed twice; allowed: each backend once");
            }
            if (address.v6() ? sourceV6 == null : sourceV4 == null) {
                throw b.error("address", "'" + address + "' is " + (address.v6() ? "IPv6" : "IPv4") + " but "
                    + e.key(address.v6() ? "source_v6" : "source_v4") + " is not set; allowed: a backend of a "
                    + "family that has an encapsulation source address");
            }
            if (b.has("mac") && b.has("next_hop")) {
                throw b.error("next_hop", "is set together with " + b.key("mac") + "; allowed: one of them");
            }
            final IpAddress hop = b.has("next_hop") ? unicast(b, "next_hop") : b.has("mac") ? null : nextHop;
            final long mac = b.has("mac") ? mac(b, "mac") : hop != null ? NO_MAC : nextHopMac;
            final String state = b.string("state", "active", "\"active\" or \"draining\"");
            if (!state.equals("active") && !state.equals("draining")) {
                throw b.error("state", "'" + state + "' is not allowed; allowed: \"active\" (takes new connections) or "
                    + "\"draining\" (no new connections; its established ones stay until they end or "
                    + "maglev.drain_limit_seconds passes)");
            }
            backends.add(new Backend(address, mac, hop, state.equals("draining")));
        }
        if (backends.isEmpty()) {
            throw root.error("backend", "missing; at least one [[backend]] is required");
        }
        final int mtuNeed = Ipv6Header.LENGTH + UdpHeader.LENGTH + EncapHeader.LENGTH + Ipv6Header.LENGTH
            + TcpHeader.MIN_LENGTH + MIN_MSS_V6;
        if (sourceV6 != null && mtu < mtuNeed) {
            throw e.error("backend_mtu", mtu + " leaves IPv6 clients less than the " + MIN_MSS_V6 + "-byte minimum "
                + "MSS after encapsulation; allowed: at least " + mtuNeed);
        }

        final TomlTable m = root.table("maglev", false);
        m.allowOnly("table_size", "chain_seconds", "drain_limit_seconds");
        final long size = m.integer("table_size", (long) DEFAULT_MAGLEV_TABLE_SIZE, 101, 16_777_259);
        if (!isPrime(size) || size < 100L * backends.size()) {
            throw m.error("table_size", size + " is not allowed; allowed: a prime number at least 100 times the "
                + "number of backends (" + 100 * backends.size() + "), e.g. 65537 or 655373");
        }
        final long chain = m.integer("chain_seconds", 600L, 0, 86_400);
        final long drainLimit = m.integer("drain_limit_seconds", 3600L, 0, 7L * 86_400);
        final Health health = health(root.table("health", false), root.has("health"));
        if (backends.stream().noneMatch(b -> !b.draining())) {
            throw root.error("backend", "every backend is draining; allowed: at least one with state = \"active\"");
        }
        // The data plane's sections are needed by `run` only: replay and check work without them.
        final Dataplane dataplane = root.has("dataplane") || root.has("port") || root.has("worker")
            ? Dataplane.parse(root, Dataplane.onlineCores()) : null;
        final boolean hostRoutes = dataplane != null && dataplane.ports().stream().anyMatch(Dataplane.Port::hasHost);
        final List<TomlTable> backendTables = root.tables("backend");
        for (int i = 0; i < backends.size(); i++) {
            final Backend backend = backends.get(i);
            if (backend.mac() == NO_MAC && backend.nextHop() == null && !hostRoutes) {
                throw backendTables.get(i).error("mac", "missing; required unless it has a next_hop, "
                    + e.key("next_hop_mac") + " or " + e.key("next_hop") + " is set, or a [[port]] has a "
                    + "host_interface (the host's route to the backend then decides): a unicast MAC address such as "
                    + "02:00:00:00:00:03");
            }
        }
        return new ProxyConfig(root.file(), cookie, tcp, List.copyOf(vips), encap, List.copyOf(backends),
            (int) size, dataplane, new Changes(chain, drainLimit, health));
    }

    private static Health health(final TomlTable h, final boolean present) throws ConfigException {
        h.allowOnly("type", "port", "path", "interval_ms", "timeout_ms", "rise", "fall");
        if (!present) {
            return null;
        }
        final String type = h.string("type", "tcp", "\"tcp\" (a connect) or \"http\" (a GET answered 2xx or 3xx)");
        if (!type.equals("tcp") && !type.equals("http")) {
            throw h.error("type", "'" + type + "' is not allowed; allowed: \"tcp\" (a connect) or \"http\" (a GET "
                + "answered 2xx or 3xx)");
        }
        final int port = (int) h.integer("port", null, 1, 65535);
        final String path = h.string("path", "/", "an absolute HTTP path, e.g. \"/health\"");
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c >= 127)) {
            throw h.error("path", "'" + path + "' is not allowed; allowed: an absolute HTTP path, e.g. \"/health\"");
        }
        final long interval = h.integer("interval_ms", 1000L, 100, 3_600_000);
        final long timeout = h.integer("timeout_ms", Math.min(1000L, interval), 10, interval);
        return new Health(type.equals("http"), port, path, interval, timeout, (int) h.integer("rise", 2L, 1, 100),
            (int) h.integer("fall", 3L, 1, 100));
    }

    private static int[] mssTable(final TomlTable table, final String key, final int[] fallback, final int min)
        throws ConfigException {
        final long[] values = table.integers(key, java.util.Arrays.stream(fallback).asLongStream().toArray(), 4, 4,
            min, 65535);
        final int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (int) values[i];
            if (i > 0 && out[i] <= out[i - 1]) {
                throw table.error(key, java.util.Arrays.toString(values) + " is not strictly ascending; allowed: 4 "
                    + "ascending MSS values from " + min + " to 65535");
            }
        }
        return out;
    }

    private enum Family { ANY, V4, V6 }

    private static IpAddress address(final TomlTable table, final String key, final Family family)
        throws ConfigException {
        final String allowed = switch (family) {
            case ANY -> "a literal IPv4 or IPv6 address";
            case V4 -> "a literal IPv4 address";
            case V6 -> "a literal IPv6 address";
        };
        final String text = table.string(key, null, allowed);
        final IpAddress address = IpAddress.parse(text);
        if (address == null || (family == Family.V4 && address.v6()) || (family == Family.V6 && !address.v6())) {
            throw table.error(key, "'" + text + "' is not allowed; allowed: " + allowed);
        }
        return address;
    }

    private static IpAddress unicast(final TomlTable table, final String key) throws ConfigException {
        final IpAddress address = address(table, key, Family.ANY);
        if (address.isUnspecified() || address.isMulticast()) {
            throw table.error(key, "'" + address + "' is not allowed; allowed: a unicast IPv4 or IPv6 address");
        }
        return address;
    }

    private static long mac(final TomlTable table, final String key) throws ConfigException {
        final String allowed = "a unicast MAC address such as 02:00:00:00:00:03";
        final String text = table.string(key, null, allowed);
        final long mac;
        try {
            mac = EthernetHeader.parse(text);
        } catch (final IllegalArgumentException e) {
            throw table.error(key, "'" + text + "' is not allowed; allowed: " + allowed);
        }
        if (EthernetHeader.isGroup(mac) || mac == 0) {
            throw table.error(key, "'" + text + "' is a group or zero address; allowed: " + allowed);
        }
        return mac;
    }

    private static boolean isPrime(final long n) {
        if (n < 2 || n % 2 == 0) {
            return n == 2;
        }
        for (long d = 3; d * d <= n; d += 2) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The MSS our SYN-ACK advertises to clients of one family: what a client segment may carry so that, encapsulated
     * toward the backend with the worst-case outer header of the configured backends (the chained header's when
     * daisy chaining is on), it still fits the backend MTU.
     */
    public int advertisedMss(final boolean clientV6) {
        final boolean anyV6Outer = backends.stream().anyMatch(b -> b.address().v6());
        // With daisy chaining on, a packet may carry the chained header (24 bytes more): it must fit too.
        final int header = changes.chainSeconds() > 0 ? EncapHeader.CHAINED_LENGTH : EncapHeader.LENGTH;
        final int outer = (anyV6Outer ? Ipv6Header.LENGTH : Ipv4Header.MIN_LENGTH) + UdpHeader.LENGTH + header;
        final int inner = (clientV6 ? Ipv6Header.LENGTH : Ipv4Header.MIN_LENGTH) + TcpHeader.MIN_LENGTH;
        return encap.backendMtu() - outer - inner;
    }

    /** The effective configuration, as `check` prints it. */
    public String describe() {
        final StringBuilder out = new StringBuilder();
        out.append("config                ").append(file).append('\n');
        out.append("cookie.secret_file    ").append(cookie.secretFile()).append('\n');
        out.append("cookie.salt_period    ").append(cookie.saltPeriodSeconds()).append(" s, grace ")
            .append(cookie.graceSeconds()).append(" s, max clock skew ").append(cookie.maxClockSkewMillis())
            .append(" ms\n");
        out.append("cookie.mss_v4         ").append(java.util.Arrays.toString(cookie.mssV4())).append('\n');
        out.append("cookie.mss_v6         ").append(java.util.Arrays.toString(cookie.mssV6())).append('\n');
        out.append("tcp                   window ").append(tcp.window()).append(", window scale ")
            .append(tcp.windowScaling() ? String.valueOf(tcp.windowScale()) : "off").append(", sack ")
            .append(tcp.sack()).append(", timestamps ").append(tcp.timestamps()).append(", ecn ").append(tcp.ecn())
            .append('\n');
        out.append("advertised MSS        IPv4 ").append(advertisedMss(false)).append(", IPv6 ")
            .append(advertisedMss(true)).append('\n');
        for (final Vip vip : vips) {
            out.append("vip                   ").append(vip.address()).append(" ports ")
                .append(java.util.Arrays.toString(vip.ports())).append('\n');
        }
        out.append("encap                 UDP port ").append(encap.port()).append(", source ")
            .append(encap.sourceV4()).append(" / ").append(encap.sourceV6()).append(", backend MTU ")
            .append(encap.backendMtu()).append(", auth key ").append(encap.authKeyFile()).append('\n');
        for (final Backend backend : backends) {
            out.append("backend               ").append(backend.address()).append(" via ")
                .append(backend.mac() != NO_MAC ? EthernetHeader.format(backend.mac())
                    : backend.nextHop() != null ? backend.nextHop() + " (resolved)" : "the host's route (resolved)")
                .append(backend.draining() ? ", draining" : "").append('\n');
        }
        out.append("maglev.table_size     ").append(maglevTableSize).append('\n');
        if (dataplane != null) {
            out.append("dataplane.eal_args    ").append(String.join(" ", dataplane.ealArgs())).append('\n');
            out.append("dataplane             control core ").append(dataplane.controlCore() < 0 ? "unpinned"
                : String.valueOf(dataplane.controlCore())).append(", ").append(dataplane.mbufs())
                .append(" mbufs per pool, ").append(dataplane.descriptors()).append(" descriptors per queue, stats ")
                .append(dataplane.statsFile()).append('\n');
            for (final Dataplane.Port port : dataplane.ports()) {
                out.append("port                  ").append(port.name()).append(": ").append(port.device())
                    .append(", ").append(port.rxQueues()).append(" rx queue(s), TX checksum offload ")
                    .append(port.txChecksumOffload() ? Dataplane.OFFLOAD_AUTO : Dataplane.OFFLOAD_OFF).append('\n');
            }
            for (final Dataplane.Worker worker : dataplane.workers()) {
                out.append("worker                ").append(worker.name()).append(": port ").append(worker.port())
                    .append(" queue ").append(worker.queue()).append(" on core ").append(worker.core())
                    .append(", to backends via ").append(worker.backendPort()).append('\n');
            }
        }
        return out.toString();
    }
}
