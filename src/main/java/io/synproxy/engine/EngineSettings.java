package io.synproxy.engine;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * What the engine takes from the configuration, built once off the workers (it allocates) and handed to each worker
 * whole: the VIPs and what answers for them, the MSS tables and TCP options of the SYN-ACK, the encapsulation port,
 * the flow hash, and the host path's policy. A reload builds a new one; a worker swaps it in between bursts
 * ({@link PacketEngine#applySettings}), so a burst sees one configuration, never half of two.
 */
public final class EngineSettings {
    final VipTable vips;
    final NeighbourResponder neighbours;
    final PathMtu pathMtu;
    final int[] mssTableV4;
    final int[] mssTableV6;
    final int advertisedMssV4;
    final int advertisedMssV6;
    /** Our window scale, or -1 when window scaling is disabled. */
    final int windowScale;
    final int window;
    final boolean sackEnabled;
    final boolean timestampsEnabled;
    final boolean ecnEnabled;
    final int encapPort;
    final FlowHash flowHash;
    /** The host path (frames for the host's kernel), or null: such frames are dropped. */
    final HostPath host;

    private EngineSettings(final ProxyConfig config, final FlowHash flowHash, final VipTable vips,
                           final HostPath host) {
        this.vips = vips;
        this.neighbours = new NeighbourResponder(vips);
        this.pathMtu = new PathMtu(vips, flowHash);
        this.mssTableV4 = config.cookie().mssV4().clone();
        this.mssTableV6 = config.cookie().mssV6().clone();
        this.advertisedMssV4 = config.advertisedMss(false);
        this.advertisedMssV6 = config.advertisedMss(true);
        this.windowScale = config.tcp().windowScaling() ? config.tcp().windowScale() : -1;
        this.window = config.tcp().window();
        this.sackEnabled = config.tcp().sack();
        this.timestampsEnabled = config.tcp().timestamps();
        this.ecnEnabled = config.tcp().ecn();
        this.encapPort = config.encap().port();
        this.flowHash = flowHash;
        this.host = host;
    }

    /** The settings of {@code config}, without a host path. */
    public static EngineSettings of(final ProxyConfig config, final FlowHash flowHash) {
        return new EngineSettings(config, flowHash, vipTable(config), null);
    }

    /**
     * The settings of {@code config} with a host path: frames to {@code hostAddresses} (those from
     * {@code controlPeers} first), ARP and neighbour discovery, and with {@code passOther} anything else that is for
     * no VIP, go to the host's kernel ({@link HostPath}).
     */
    public static EngineSettings withHost(final ProxyConfig config, final FlowHash flowHash,
                                          final List<IpAddress> hostAddresses, final List<IpAddress> controlPeers,
                                          final boolean passOther) {
        final VipTable vips = vipTable(config);
        return new EngineSettings(config, flowHash, vips, new HostPath(vips, hostAddresses, controlPeers, passOther));
    }

    /** These settings without a host path. */
    EngineSettings withoutHost(final ProxyConfig config) {
        return new EngineSettings(config, flowHash, vips, null);
    }

    private static VipTable vipTable(final ProxyConfig config) {
        final List<IpAddress> own = new ArrayList<>();
        if (config.encap().sourceV4() != null) {
            own.add(config.encap().sourceV4());
        }
        if (config.encap().sourceV6() != null) {
            own.add(config.encap().sourceV6());
        }
        return new VipTable(config.vips(), own);
    }
}
