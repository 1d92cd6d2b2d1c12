package io.synproxy.perf;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.BackendTable;
import io.synproxy.engine.FrameDescriptors;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.ProxyKeys;
import io.synproxy.engine.Verdict;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.TcpHeader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The packet engine's cost per packet, bursts of 32, frames in native memory addressed absolutely (as the data plane
 * will address DPDK's buffers), each in a buffer of DPDK's mbuf size.
 *
 * <p>The engine rewrites frames in place, so every invocation first restores the 32 input frames and descriptors
 * (what the NIC's DMA and the RX burst would do); {@link #restoreOnly} measures that part alone, to subtract.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
// As the data plane runs (scripts/synproxy run): the packet path without the segments' own checks (packet/Bytes).
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
    "-Dsynproxy.segmentChecks=false"})
public class EngineBenchmark {
    static final int BURST = 32;
    static final int HEADROOM = 128;
    static final int SLOT = 2176;
    static final long NOW = 1_700_000_000_000L;
    static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    @Param({"syn-v4", "syn-v6", "ack-valid-v4", "ack-invalid-v4", "ack-valid-v6", "data-v4", "drop-not-vip"})
    public String scenario;

    /** Whether the NIC verified IPv4 and TCP checksums (RX offload flags); net_pcap and net_af_packet do not. */
    @Param({"false"})
    public boolean rxChecksumOffload;

    /**
     * Whether the ports compute the checksums of what the engine sends (TX offload: IPv4 header and TCP on both);
     * net_pcap and net_af_packet do not offer it.
     */
    @Param({"false"})
    public boolean txChecksumOffload;

    private Arena arena;
    private MemorySegment pristine;
    private MemorySegment buffers;
    private MemorySegment descriptors;
    private final int[] lengths = new int[BURST];
    private PacketEngine engine;
    private int rxFlags;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        final Path dir = Files.createTempDirectory("synproxy-bench");
        Files.writeString(dir.resolve("secret.key"), "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        Files.writeString(dir.resolve("backend.key"), "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
        for (final String key : new String[] {"secret.key", "backend.key"}) {
            // As `synproxy keygen` leaves them: key files others can read are refused.
            Files.setPosixFilePermissions(dir.resolve(key), java.nio.file.attribute.PosixFilePermissions
                .fromString("rw-------"));
        }
        Files.writeString(dir.resolve("synproxy.toml"), """
            [cookie]
            secret_file = "secret.key"
            [[vip]]
            address = "198.51.100.10"
            ports = [80]
            [[vip]]
            address = "2001:db8:100::10"
            ports = [80]
            [encap]
            source_v4 = "203.0.113.1"
            auth_key_file = "backend.key"
            next_hop_mac = "02:00:00:00:00:fe"
            [[backend]]
            address = "203.0.113.11"
            [[backend]]
            address = "203.0.113.12"
            [[backend]]
            address = "203.0.113.13"
            """);
        final ProxyConfig config;
        try {
            config = ProxyConfig.load(dir.resolve("synproxy.toml"));
        } catch (final Exception e) {
            throw new IllegalStateException(e);
        }
        final ProxyKeys keys = ProxyKeys.load(config);
        engine = new PacketEngine(config, keys, keys.saltSchedule(config).snapshotAt(NOW), BackendTable.of(config, keys));
        final int tx = txChecksumOffload ? FrameDescriptors.TX_IP_CHECKSUM | FrameDescriptors.TX_TCP_CHECKSUM : 0;
        engine.setTxChecksumOffload(tx, tx);

        rxFlags = rxChecksumOffload
            ? FrameDescriptors.RX_IP_CHECKSUM_GOOD | FrameDescriptors.RX_L4_CHECKSUM_GOOD : 0;
        arena = Arena.ofShared();
        pristine = arena.allocate((long) SLOT * BURST, 64);
        buffers = arena.allocate((long) SLOT * BURST, 64);
        descriptors = arena.allocate((long) FrameDescriptors.SIZE * BURST, 64);
        final boolean v6 = scenario.endsWith("v6");
        final IpAddress vip = IpAddress.parse(v6 ? "2001:db8:100::10" : "198.51.100.10");
        final IpAddress notVip = IpAddress.parse("198.51.100.99");
        for (int i = 0; i < BURST; i++) {
            final IpAddress client = IpAddress.parse(v6 ? "2001:db8::" + (i + 1) : "192.0.2." + (i + 1));
            final int port = 40000 + i * 7;
            final int isn = 0x11223344 * (i + 1);
            final byte[] syn = FrameBuilder.tcp(client, scenario.equals("drop-not-vip") ? notVip : vip, port, 80, isn,
                0, TcpHeader.SYN, FrameBuilder.linuxSynOptions(v6 ? 1440 : 1460, 1000 + i, 7), 0);
            final byte[] frame;
            if (scenario.startsWith("ack") || scenario.startsWith("data")) {
                final long synAck = issue(syn);
                final int cookie = (int) (synAck >>> 32);
                final int ack = cookie + 1 + (scenario.startsWith("ack-invalid") ? 12345 : 0);
                // The client echoes our TSval, as a real one does: the proxy checks the echo of a handshake ACK.
                frame = FrameBuilder.tcp(client, vip, port, 80, isn + 1, scenario.startsWith("data") ? ack + 1000 : ack,
                    TcpHeader.ACK, FrameBuilder.timestampOptions(2000 + i, (int) synAck),
                    scenario.startsWith("data") ? 100 : 0);
            } else {
                frame = syn;
            }
            lengths[i] = frame.length;
            MemorySegment.copy(frame, 0, pristine, ValueLayout.JAVA_BYTE, (long) i * SLOT + HEADROOM, frame.length);
        }
        restore();
        engine.process(EVERYTHING, descriptors, BURST, NOW);
        final int expected = scenario.startsWith("syn") ? Verdict.TX_CLIENT
            : scenario.startsWith("drop") ? Verdict.DROP : Verdict.TX_BACKEND;
        for (int i = 0; i < BURST; i++) {
            if (FrameDescriptors.verdict(descriptors, i) != expected) {
                throw new IllegalStateException(scenario + ": frame " + i + " got verdict "
                    + FrameDescriptors.verdict(descriptors, i) + ", reason " + FrameDescriptors.reason(descriptors, i));
            }
        }
        final long validated = engine.counters().get(io.synproxy.engine.EngineCounters.ACKS_VALID);
        if (scenario.startsWith("ack-valid") && validated != BURST) {
            throw new IllegalStateException(scenario + ": only " + validated + " ACKs validated");
        }
    }

    /** The SYN-ACK's sequence number (high half) and TSval (low half) for a SYN, from the engine itself. */
    private long issue(final byte[] syn) {
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment buffer = a.allocate(SLOT);
            final MemorySegment d = a.allocate(FrameDescriptors.SIZE);
            MemorySegment.copy(syn, 0, buffer, ValueLayout.JAVA_BYTE, HEADROOM, syn.length);
            FrameDescriptors.setFrame(d, 0, HEADROOM, syn.length, HEADROOM, SLOT - HEADROOM - syn.length, 0);
            engine.process(buffer, d, 1, NOW);
            final byte[] out = buffer.asSlice(FrameDescriptors.address(d, 0), FrameDescriptors.length(d, 0))
                .toArray(ValueLayout.JAVA_BYTE);
            final int tcp = 14 + ((out[12] & 0xff) == 0x86 ? 40 : 20);
            final ByteBuffer b = ByteBuffer.wrap(out);
            return ((long) b.getInt(tcp + TcpHeader.SEQUENCE_OFFSET) << 32)
                | (b.getInt(tcp + TcpHeader.OPTIONS_OFFSET + io.synproxy.packet.TcpOptions.SYN_ACK_TSVAL_OFFSET)
                & 0xffffffffL);
        }
    }

    private void restore() {
        final long base = buffers.address();
        for (int i = 0; i < BURST; i++) {
            final long at = (long) i * SLOT + HEADROOM;
            MemorySegment.copy(pristine, at, buffers, at, lengths[i]);
            FrameDescriptors.setFrame(descriptors, i, base + at, lengths[i], HEADROOM, SLOT - HEADROOM - lengths[i],
                rxFlags);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public void burst() {
        restore();
        engine.process(EVERYTHING, descriptors, BURST, NOW);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public void restoreOnly() {
        restore();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
