package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.BackendTable;
import io.synproxy.engine.FrameDescriptors;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.ProxyKeys;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.TcpHeader;
import io.synproxy.packet.TcpOptions;
import io.synproxy.pcap.PcapWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "gen", mixinStandardHelpOptions = true,
    description = {"Write a capture of client traffic for benchmarks: distinct flows to the first VIP of the "
        + "configuration, port 80. ACKs carry cookies valid for this configuration's secret now (use a long "
        + "salt period for long runs)."})
final class GenCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The proxy's configuration (TOML).")
    Path config;

    @Option(names = "--scenario", required = true,
        description = "syn-v4, syn-v6, ack-valid-v4, ack-valid-v6, ack-invalid-v4, data-v4, or mix (90% SYN flood, "
            + "5% handshake ACKs, 5% data).")
    String scenario;

    @Option(names = "--count", defaultValue = "1024", description = "Frames (distinct flows).")
    int count;

    @Option(names = "--out", required = true, description = "Output capture.")
    Path out;

    @Override
    public Integer call() {
        try {
            final ProxyConfig loaded = ProxyConfig.load(config);
            final ProxyKeys keys = ProxyKeys.load(loaded);
            final long now = System.currentTimeMillis();
            final PacketEngine engine = new PacketEngine(loaded, keys, keys.saltSchedule(loaded).snapshotAt(now),
                BackendTable.of(loaded, keys));
            final List<byte[]> frames = new ArrayList<>();
            final SplittableRandom random = new SplittableRandom(count);
            for (int i = 0; i < count; i++) {
                final String kind = switch (scenario) {
                    case "mix" -> i % 20 == 0 ? "ack-valid" : i % 20 == 1 ? "data" : "syn";
                    case "syn-v4", "syn-v6" -> "syn";
                    case "ack-valid-v4", "ack-valid-v6" -> "ack-valid";
                    case "ack-invalid-v4" -> "ack-invalid";
                    case "data-v4" -> "data";
                    default -> null;
                };
                if (kind == null) {
                    System.err.println("synproxy gen: --scenario '" + scenario + "' is not allowed; allowed: syn-v4, "
                        + "syn-v6, ack-valid-v4, ack-valid-v6, ack-invalid-v4, data-v4, mix");
                    return 2;
                }
                frames.add(frame(loaded, engine, kind, scenario.endsWith("v6"), i, random, now));
            }
            try (PcapWriter writer = new PcapWriter(out)) {
                for (final byte[] frame : frames) {
                    writer.write(now * 1_000_000L, frame);
                }
            }
            System.out.println("wrote " + frames.size() + " frames (" + scenario + ") to " + out);
            return 0;
        } catch (final ConfigException | IOException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
    }

    private static byte[] frame(final ProxyConfig config, final PacketEngine engine, final String kind,
                                final boolean v6, final int i, final SplittableRandom random, final long now) {
        final IpAddress vip = config.vips().stream().map(ProxyConfig.Vip::address).filter(a -> a.v6() == v6)
            .findFirst().orElseThrow(() -> new IllegalArgumentException("no IPv" + (v6 ? 6 : 4) + " VIP"));
        final IpAddress client = IpAddress.parse(v6 ? "2001:db8::" + Integer.toHexString(1 + (i & 0xffff))
            : "10." + ((i >> 16) & 255) + "." + ((i >> 8) & 255) + "." + (i & 255));
        final int port = 1024 + random.nextInt(60000);
        final int isn = random.nextInt();
        final byte[] syn = FrameBuilder.tcp(client, vip, port, 80, isn, 0, TcpHeader.SYN,
            FrameBuilder.linuxSynOptions(v6 ? 1440 : 1460, random.nextInt(), 7), 0);
        if (kind.equals("syn")) {
            return syn;
        }
        final long synAck = synAck(engine, syn, v6, now);
        final int cookie = (int) (synAck >>> 32);
        final int ack = kind.equals("ack-invalid") ? cookie + 1 + 12345 : cookie + 1;
        final boolean data = kind.equals("data");
        // The client echoes our TSval, as a real one does (the proxy checks the echo of a handshake ACK).
        return FrameBuilder.tcp(client, vip, port, 80, isn + 1 + (data ? 1000 : 0), data ? ack + 5000 : ack,
            TcpHeader.ACK | (data ? TcpHeader.PSH : 0), FrameBuilder.timestampOptions(random.nextInt(), (int) synAck),
            data ? 100 : 0);
    }

    /** The cookie (high half) and TSval (low half) the proxy answers this SYN with: the engine itself computes them. */
    private static long synAck(final PacketEngine engine, final byte[] syn, final boolean v6, final long now) {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment buffer = arena.allocate(2176);
            final MemorySegment descriptor = arena.allocate(FrameDescriptors.SIZE);
            MemorySegment.copy(syn, 0, buffer, ValueLayout.JAVA_BYTE, 128, syn.length);
            FrameDescriptors.setFrame(descriptor, 0, 128, syn.length, 128, 2048 - syn.length, 0);
            engine.process(buffer, descriptor, 1, now);
            final int tcp = 128 + 14 + (v6 ? 40 : 20);
            final ByteBuffer header = ByteBuffer.wrap(buffer.asSlice(tcp, 60).toArray(ValueLayout.JAVA_BYTE));
            return ((long) header.getInt(4) << 32)
                | (header.getInt(TcpHeader.OPTIONS_OFFSET + TcpOptions.SYN_ACK_TSVAL_OFFSET) & 0xffffffffL);
        }
    }
}
