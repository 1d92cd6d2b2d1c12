package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.engine.BackendTable;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.ProxyKeys;
import io.synproxy.replay.CaptureReplay;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "replay", mixinStandardHelpOptions = true,
    description = {"Run every frame of a capture through the packet engine with a configuration, write what the "
        + "proxy would transmit to another capture, and print the verdict counts."})
final class ReplayCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The configuration file (TOML).")
    Path config;

    @Option(names = "--in", required = true, description = "Input capture (classic pcap, Ethernet).")
    Path in;

    @Option(names = "--out", required = true, description = "Output capture: SYN-ACKs and encapsulated packets.")
    Path out;

    @Option(names = "--clock", defaultValue = "capture",
        description = "Time for the salt epoch: capture (each frame's capture time, the default: replays are "
            + "repeatable) or now.")
    String clock;

    @Option(names = "--mac", description = "The proxy port's MAC address, to answer broadcast ARP and multicast "
        + "neighbour solicitations (without it only requests sent to the proxy's MAC are answered).")
    String mac;

    @Override
    public Integer call() {
        long localMac = -1;
        if (mac != null) {
            try {
                localMac = io.synproxy.packet.EthernetHeader.parse(mac);
            } catch (final IllegalArgumentException e) {
                System.err.println("synproxy replay: --mac '" + mac + "' is not allowed; allowed: a MAC address such "
                    + "as 02:00:00:00:00:02");
                return 2;
            }
        }
        final CaptureReplay.Clock mode;
        switch (clock) {
            case "capture" -> mode = CaptureReplay.Clock.CAPTURE;
            case "now" -> mode = CaptureReplay.Clock.NOW;
            default -> {
                System.err.println("synproxy replay: --clock '" + clock + "' is not allowed; allowed: capture, now");
                return 2;
            }
        }
        try {
            final ProxyConfig loaded = ProxyConfig.load(config);
            final ProxyKeys keys = ProxyKeys.load(loaded);
            final SaltSchedule schedule = keys.saltSchedule(loaded);
            final PacketEngine engine = new PacketEngine(loaded, keys,
                schedule.snapshotAt(System.currentTimeMillis()), BackendTable.of(loaded, keys));
            engine.setMacs(localMac, -1);
            final CaptureReplay.Result result = new CaptureReplay(engine, schedule, mode, System::currentTimeMillis)
                .run(in, out);
            System.out.printf("frames %d: to clients %d, to backends %d, dropped %d%n", result.frames(),
                result.toClient(), result.toBackend(), result.dropped());
            engine.counters().snapshot().forEach((name, value) -> System.out.printf("  %-24s %d%n", name, value));
            System.out.println("wrote " + out);
            return 0;
        } catch (final ConfigException | IOException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
    }
}
