package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import java.io.PrintStream;
import java.util.List;

/**
 * The counters file through DPDK telemetry: {@code dpdk-telemetry.py -f PREFIX}, then {@code /synproxy/counters}
 * (every counter; {@code /synproxy/counters,w0/} only one owner's) and {@code /synproxy/workers} (each worker's
 * busy/idle nanoseconds and load). A label becomes a telemetry name as {@code native/shim/sp_shim.c} says ("w0
 * rx-frames" is {@code w0/rx_frames}). Never stops the proxy: {@code synproxy stat} reads the same counters.
 */
final class Telemetry {
    private Telemetry() {
    }

    /** Registers the commands for {@code stats} and says where to query them, or why not. */
    static void publish(final StatsFile stats, final PrintStream log) {
        // EAL's own arguments: in a test another data plane's may be in force, not this configuration's.
        final List<String> ealArgs = Dpdk.ealArgs();
        final int rc = stats.registerTelemetry();
        if (rc < 0) {
            log.println("synproxy: telemetry: cannot register /synproxy/counters and /synproxy/workers: "
                + Shim.strerror(rc) + ". Running on without them: `synproxy stat` shows the same counters; "
                + "'Invalid argument' means this DPDK refuses their names (rebuild the shim against it)");
        } else if (ealArgs.contains("--no-telemetry")) {
            // DPDK keeps the commands all the same; only its socket is missing.
            log.println("telemetry: off (EAL runs with --no-telemetry): without it dpdk-telemetry.py shows the "
                + "counters");
        } else {
            log.println("telemetry: /synproxy/counters and /synproxy/workers; query them with dpdk-telemetry.py -f "
                + filePrefix(ealArgs));
        }
    }

    /** EAL's --file-prefix (either form), "rte" by default: the runtime directory that holds the socket. */
    static String filePrefix(final List<String> ealArgs) {
        String prefix = "rte";
        for (int i = 0; i < ealArgs.size(); i++) {
            final String arg = ealArgs.get(i);
            if (arg.equals("--file-prefix") && i + 1 < ealArgs.size()) {
                prefix = ealArgs.get(++i);
            } else if (arg.startsWith("--file-prefix=")) {
                prefix = arg.substring("--file-prefix=".length());
            }
        }
        return prefix;
    }
}
