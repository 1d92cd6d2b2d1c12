package io.synproxy.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What a reload cannot change: whatever needs a new port, queue, core, pool or thread, or would change what every
 * node of the fleet must agree on at once (the salt schedule). Everything else (VIPs, backends, next hops, TCP and
 * MSS options, the host path's policy, metrics, the key files' contents) is applied while running.
 */
public final class RestartCheck {
    private RestartCheck() {
    }

    /** The settings that differ between {@code running} and {@code fresh} and need a restart; empty: none. */
    public static List<String> differences(final ProxyConfig running, final ProxyConfig fresh) {
        final List<String> out = new ArrayList<>();
        final ProxyConfig.Cookie a = running.cookie();
        final ProxyConfig.Cookie b = fresh.cookie();
        differs(out, "cookie.salt_period_seconds", a.saltPeriodSeconds(), b.saltPeriodSeconds());
        differs(out, "cookie.grace_seconds", a.graceSeconds(), b.graceSeconds());
        differs(out, "cookie.max_clock_skew_ms", a.maxClockSkewMillis(), b.maxClockSkewMillis());
        final Dataplane x = running.dataplane();
        final Dataplane y = fresh.dataplane();
        if (x == null || y == null) {
            differs(out, "[dataplane]", x == null, y == null);
            return out;
        }
        differs(out, "dataplane.eal_args", x.ealArgs(), y.ealArgs());
        differs(out, "dataplane.control_core", x.controlCore(), y.controlCore());
        differs(out, "dataplane.mbufs", x.mbufs(), y.mbufs());
        differs(out, "dataplane.descriptors", x.descriptors(), y.descriptors());
        differs(out, "dataplane.stats_file", x.statsFile(), y.statsFile());
        differs(out, "dataplane.idle", x.idle(), y.idle());
        differs(out, "dataplane.drain_seconds", x.drainSeconds(), y.drainSeconds());
        // A port's TX checksum offload is set when the port is configured (sp_port_setup): named on its own, so the
        // operator sees which key it was; the rest of the port compared without it.
        for (final Dataplane.Port p : x.ports()) {
            for (final Dataplane.Port q : y.ports()) {
                if (p.name().equals(q.name()) && p.txChecksumOffload() != q.txChecksumOffload()) {
                    out.add("port '" + p.name() + "' tx_checksum_offload");
                }
            }
        }
        differs(out, "[[port]]", x.ports().stream().map(p -> p.withTxChecksumOffload(true)).toList(),
            y.ports().stream().map(p -> p.withTxChecksumOffload(true)).toList());
        differs(out, "[[worker]]", x.workers(), y.workers());
        differs(out, "host.gateway_v4", x.host().gatewayV4(), y.host().gatewayV4());
        differs(out, "host.gateway_v6", x.host().gatewayV6(), y.host().gatewayV6());
        differs(out, "[announce]", List.of(x.host().announceTable(), String.valueOf(x.host().announcePort())),
            List.of(y.host().announceTable(), String.valueOf(y.host().announcePort())));
        return out;
    }

    private static void differs(final List<String> out, final String key, final Object a, final Object b) {
        final boolean same = a instanceof int[] p && b instanceof int[] q ? Arrays.equals(p, q) : Objects.equals(a, b);
        if (!same) {
            out.add(key);
        }
    }
}
