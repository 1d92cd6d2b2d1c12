package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import io.synproxy.config.Dataplane;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A port's link: DPDK's link status, and for a PMD over a kernel interface (net_af_packet, net_af_xdp: their
 * {@code iface=}) the kernel's operational state too, since those PMDs report the link up from the start whatever
 * happens to the interface afterwards.
 */
final class PortLink {
    private final int port;
    private final Path operstate;

    PortLink(final int port, final Dataplane.Port config) {
        this.port = port;
        String iface = null;
        if (config.device().startsWith("net_af_packet") || config.device().startsWith("net_af_xdp")) {
            for (final String arg : config.device().split(",")) {
                if (arg.startsWith("iface=")) {
                    iface = arg.substring("iface=".length());
                }
            }
        }
        this.operstate = iface == null ? null : Path.of("/sys/class/net", iface, "operstate");
    }

    boolean up() {
        if (Shim.portLinkUp(port) != 1) {
            return false;
        }
        if (operstate == null) {
            return true;
        }
        try {
            // "up", or "unknown" for interfaces without carrier reporting; "down" / "lowerlayerdown" otherwise.
            final String state = Files.readString(operstate).strip();
            return state.equals("up") || state.equals("unknown");
        } catch (final IOException e) {
            return false;
        }
    }
}
