package io.synproxy.cli;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.MasterSecret;
import io.synproxy.engine.BackendTable;
import io.synproxy.engine.DropReason;
import io.synproxy.engine.EngineCounters;
import io.synproxy.engine.FrameDescriptors;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.ProxyKeys;
import io.synproxy.engine.Verdict;
import io.synproxy.fuzz.FrameFuzzer;
import io.synproxy.packet.FrameBuilder;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "fuzz", mixinStandardHelpOptions = true,
    description = {"Fuzz the packet engine: mutated frames of every kind (SYN, ACK, data, ICMP, ARP, ND, VLAN, IPv6 "
        + "extension headers; one header field at a time, lengths, offsets, options, cuts) and random bytes, each in "
        + "memory of exactly its buffer's size so a stray access throws. Prints one line per check and ends with "
        + "`fuzz: P passed, F failed`."})
final class FuzzCommand implements Callable<Integer> {
    @Option(names = "--frames", defaultValue = "2000000", description = "Frames to try (default ${DEFAULT-VALUE}).")
    long frames;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    private static final long NOW = 1_700_000_000_000L;
    private int passed;
    private int failed;

    private void check(final String what, final boolean ok) {
        System.out.println((ok ? "  ok    " : "  FAIL  ") + what);
        if (ok) {
            passed++;
        } else {
            failed++;
        }
    }

    @Override
    public Integer call() throws IOException {
        final PacketEngine engine = engine();
        final FrameFuzzer fuzzer = new FrameFuzzer(syn -> answer(engine, syn));
        final long[] verdicts = new long[4];
        long exceptions = 0;
        long outside = 0;
        long unreasoned = 0;
        final List<String> firstFailures = new ArrayList<>();
        // Each seed as built: it must get the verdict its kind calls for, or the mutations start from nowhere.
        for (final FrameFuzzer.Seed s : fuzzer.seeds()) {
            final int verdict = run(engine, s.frame(), 128, 128, 0);
            final int expected = s.kind().startsWith("syn") || s.kind().startsWith("arp")
                || s.kind().startsWith("neighbour") ? Verdict.TX_CLIENT : Verdict.TX_BACKEND;
            check("seed " + s.kind() + " (" + s.frame().length + " bytes, " + s.fields().size() + " fields): "
                + (expected == Verdict.TX_CLIENT ? "answered" : "encapsulated"), verdict == expected);
        }
        final EngineCounters before = snapshot(engine);
        final long start = System.nanoTime();
        final SplittableRandom random = new SplittableRandom(seed);
        for (long n = 0; n < frames; n++) {
            if ((n & 0xffff) == 0) {
                // Half the time the port's MAC is unknown, as before the first link-up: broadcast requests unanswered.
                engine.setMacs((n & 0x10000) == 0 ? FrameBuilder.PROXY_MAC : -1, -1);
                // A quarter of the time with a host interface that takes everything not for a VIP (pass): the
                // exception path's classification reads every kind of frame the proxy refuses.
                // Every other stretch after a backend change: established traffic of moved slots is chained.
                engine.applyBackends((n & 0x40000) != 0 ? changed : unchanged);
                if ((n & 0x30000) == 0x30000) {
                    engine.setHostPath(List.of(IpAddress.parse("10.1.1.2"), IpAddress.parse("fd00:1::2")),
                        List.of(IpAddress.parse("10.1.1.1")), true);
                } else {
                    engine.clearHostPath();
                }
            }
            final byte[] frame = fuzzer.next(random);
            final int headroom = room(random);
            final int tailroom = room(random);
            final int flags = random.nextInt(16) == 0
                ? FrameDescriptors.RX_IP_CHECKSUM_GOOD | FrameDescriptors.RX_L4_CHECKSUM_GOOD : 0;
            try {
                final int verdict = run(engine, frame, headroom, tailroom, flags);
                if (verdict < Verdict.DROP || verdict > Verdict.TO_HOST) {
                    unreasoned++;
                    continue;
                }
                verdicts[verdict]++;
                if (verdict == Verdict.DROP && lastReason == DropReason.NONE.ordinal()) {
                    unreasoned++;
                }
                if (verdict != Verdict.DROP && !lastInside) {
                    outside++;
                }
            } catch (final RuntimeException | Error e) {
                exceptions++;
                if (firstFailures.size() < 3) {
                    firstFailures.add(e + " on " + HexFormat.of().formatHex(frame));
                }
            }
        }
        final double seconds = (System.nanoTime() - start) / 1e9;
        final EngineCounters c = engine.counters();
        final long received = c.get(EngineCounters.FRAMES_RECEIVED) - before.get(EngineCounters.FRAMES_RECEIVED);
        check(String.format("%d mutated and random frames through the engine in %.1f s, %d exceptions", frames,
            seconds, exceptions), exceptions == 0 && received == frames);
        firstFailures.forEach(f -> System.out.println("        " + f));
        check("every frame got one verdict: " + verdicts[Verdict.DROP] + " dropped, " + verdicts[Verdict.TX_CLIENT]
            + " to clients, " + verdicts[Verdict.TX_BACKEND] + " to backends, " + verdicts[Verdict.TO_HOST]
            + " to the host (" + unreasoned + " without)",
            unreasoned == 0 && verdicts[0] + verdicts[1] + verdicts[2] + verdicts[3] == frames);
        check("every output inside its buffer (" + outside + " outside)", outside == 0);
        final long dropped = c.get(EngineCounters.DROPPED) - before.get(EngineCounters.DROPPED);
        final long toClients = c.get(EngineCounters.SYN_ACKS_SENT) + c.get(EngineCounters.NEIGHBOUR_REPLIES)
            - before.get(EngineCounters.SYN_ACKS_SENT) - before.get(EngineCounters.NEIGHBOUR_REPLIES);
        final long toBackends = c.get(EngineCounters.ENCAPSULATED) - before.get(EngineCounters.ENCAPSULATED);
        final long toHost = c.get(EngineCounters.TO_HOST_CONTROL) + c.get(EngineCounters.TO_HOST_OTHER)
            - before.get(EngineCounters.TO_HOST_CONTROL) - before.get(EngineCounters.TO_HOST_OTHER);
        check("the counters agree with the verdicts (dropped " + dropped + ", to clients " + toClients
            + ", encapsulated " + toBackends + ", to the host " + toHost + ")", dropped == verdicts[Verdict.DROP]
            && toClients == verdicts[Verdict.TX_CLIENT] && toBackends == verdicts[Verdict.TX_BACKEND]
            && toHost == verdicts[Verdict.TO_HOST] && (frames < 1_000_000 || toHost > 0));
        long reasons = 0;
        final List<String> unreached = new ArrayList<>();
        for (final DropReason reason : DropReason.values()) {
            reasons += c.dropped(reason) - before.dropped(reason);
            if (reason != DropReason.NONE && reason != DropReason.NO_BACKEND
                && reason != DropReason.NEXT_HOP_UNRESOLVED
                && c.dropped(reason) == before.dropped(reason)) {
                unreached.add(reason.counterName());
            }
        }
        check("every drop counted under exactly one reason (" + reasons + ")", reasons == dropped);
        if (frames >= 1_000_000) {
            check("the mutations reached every drop reason" + (unreached.isEmpty() ? "" : "; not: " + unreached),
                unreached.isEmpty());
            final long valid = c.get(EngineCounters.ACKS_VALID) - before.get(EngineCounters.ACKS_VALID);
            final long icmp = c.get(EngineCounters.ICMP_FORWARDED) - before.get(EngineCounters.ICMP_FORWARDED);
            final long chained = c.get(EngineCounters.CHAINED) - before.get(EngineCounters.CHAINED);
            check("and every path: handshakes validated (" + valid + "), ICMP errors forwarded (" + icmp
                + "), neighbour replies, chained headers (" + chained + ")", valid > 0 && icmp > 0
                && c.get(EngineCounters.NEIGHBOUR_REPLIES) > 0 && chained > 0);
        }
        System.out.println("fuzz: " + passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    private int lastReason;
    private boolean lastInside;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment area = arena.allocate(8192, 64);
    private final MemorySegment descriptor = arena.allocate(FrameDescriptors.SIZE, 8);

    /** One frame in a segment of exactly headroom + frame + tailroom bytes; returns its verdict. */
    private int run(final PacketEngine engine, final byte[] frame, final int headroom, final int tailroom,
                    final int rxFlags) {
        final MemorySegment buffer = area.asSlice(0, headroom + frame.length + tailroom);
        MemorySegment.copy(frame, 0, buffer, ValueLayout.JAVA_BYTE, headroom, frame.length);
        FrameDescriptors.setFrame(descriptor, 0, headroom, frame.length, headroom, tailroom, rxFlags);
        engine.process(buffer, descriptor, 1, NOW);
        lastReason = FrameDescriptors.reason(descriptor, 0);
        final long address = FrameDescriptors.address(descriptor, 0);
        lastInside = address >= 0 && address + FrameDescriptors.length(descriptor, 0) <= buffer.byteSize();
        return FrameDescriptors.verdict(descriptor, 0);
    }

    /** The SYN-ACK the engine answers a SYN with (for handshake ACKs that validate). */
    private byte[] answer(final PacketEngine engine, final byte[] syn) {
        final int verdict = run(engine, syn, 128, 128, 0);
        if (verdict != Verdict.TX_CLIENT) {
            throw new IllegalStateException("the engine did not answer the seed SYN");
        }
        return area.asSlice(FrameDescriptors.address(descriptor, 0), FrameDescriptors.length(descriptor, 0))
            .toArray(ValueLayout.JAVA_BYTE);
    }

    private static int room(final SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> random.nextInt(64);
            default -> 128;
        };
    }

    private static EngineCounters snapshot(final PacketEngine engine) {
        return engine.counters().copy();
    }

    /** An engine with fixed keys, the fuzzer's VIPs and two backends; its port MAC known (ARP/ND answered). */
    /** The fuzz's backends before and after a change (two backends more): the second names previous owners. */
    private BackendTable unchanged;
    private BackendTable changed;

    private PacketEngine engine() throws IOException {
        final Path dir = Files.createTempDirectory("synproxy-fuzz");
        try {
            MasterSecret.write(dir.resolve("secret.key"), HexFormat.of().parseHex(
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
            MasterSecret.write(dir.resolve("backend.key"), HexFormat.of().parseHex(
                "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"));
            Files.writeString(dir.resolve("synproxy.toml"), """
                [cookie]
                secret_file = "secret.key"

                [[vip]]
                address = "198.51.100.10"
                ports = [80, 443]

                [[vip]]
                address = "2001:db8:100::10"
                ports = [80]

                [encap]
                source_v4 = "203.0.113.1"
                source_v6 = "2001:db8:200::1"
                auth_key_file = "backend.key"
                next_hop_mac = "02:00:00:00:00:fe"

                [[backend]]
                address = "203.0.113.11"

                [[backend]]
                address = "2001:db8:200::11"
                """);
            final ProxyConfig config = ProxyConfig.load(dir.resolve("synproxy.toml"));
            final ProxyKeys keys = ProxyKeys.load(config);
            unchanged = BackendTable.of(config, keys);
            final List<ProxyConfig.Backend> more = new ArrayList<>(config.backends());
            more.add(new ProxyConfig.Backend(IpAddress.parse("203.0.113.12"), 0x0200000000feL, null, false));
            more.add(new ProxyConfig.Backend(IpAddress.parse("2001:db8:200::12"), 0x0200000000feL, null, false));
            changed = BackendTable.next(unchanged, more, java.util.Set.of(), config.encap(), config.maglevTableSize(),
                keys.authKey(), NOW, 600_000, 3_600_000);
            final PacketEngine engine = new PacketEngine(config, keys, keys.saltSchedule(config).snapshotAt(NOW),
                unchanged);
            engine.setMacs(FrameBuilder.PROXY_MAC, -1);
            return engine;
        } catch (final io.synproxy.config.ConfigException e) {
            throw new IllegalStateException(e);
        } finally {
            try (var files = Files.list(dir)) {
                for (final Path f : (Iterable<Path>) files::iterator) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }
}
