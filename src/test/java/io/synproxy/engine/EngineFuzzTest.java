package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.config.ProxyConfig;
import io.synproxy.pcap.PcapReader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random and mutated frames through the engine. Each frame gets a memory segment exactly as large as its buffer
 * (headroom + frame + tailroom, often with no room at all), so any read or write outside it throws instead of going
 * unnoticed; the test fails on any exception, any unknown verdict, any drop without a reason, and any counter that
 * does not add up.
 */
class EngineFuzzTest {
    private static final int FRAMES = 1_200_000;

    @TempDir
    Path dir;

    @Test
    void randomAndMutatedFramesNeverEscapeTheirBuffer() throws IOException {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        final PacketEngine engine = TestSupport.engine(config, TestSupport.FIXTURE_MILLIS);
        final List<byte[]> seeds = seeds();
        final SplittableRandom random = new SplittableRandom(20261125);
        final int[] verdicts = new int[3];
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment area = arena.allocate(4096, 64);
            final MemorySegment descriptor = arena.allocate(FrameDescriptors.SIZE, 8);
            for (int n = 0; n < FRAMES; n++) {
                final byte[] frame = random.nextInt(8) == 0 ? randomFrame(random) : mutate(seeds, random);
                final int headroom = room(random);
                final int tailroom = room(random);
                final MemorySegment buffer = area.asSlice(0, headroom + frame.length + tailroom);
                MemorySegment.copy(frame, 0, buffer, ValueLayout.JAVA_BYTE, headroom, frame.length);
                FrameDescriptors.setFrame(descriptor, 0, headroom, frame.length, headroom, tailroom,
                    random.nextInt(16) == 0 ? FrameDescriptors.RX_IP_CHECKSUM_GOOD
                        | FrameDescriptors.RX_L4_CHECKSUM_GOOD : 0);
                engine.process(buffer, descriptor, 1, TestSupport.FIXTURE_MILLIS);
                final int verdict = FrameDescriptors.verdict(descriptor, 0);
                assertTrue(verdict >= Verdict.DROP && verdict <= Verdict.TX_BACKEND, "verdict " + verdict);
                verdicts[verdict]++;
                if (verdict == Verdict.DROP) {
                    assertNotEquals(DropReason.NONE.ordinal(), FrameDescriptors.reason(descriptor, 0));
                } else {
                    final long address = FrameDescriptors.address(descriptor, 0);
                    final int length = FrameDescriptors.length(descriptor, 0);
                    assertTrue(address >= 0 && address + length <= buffer.byteSize(), "output outside its buffer");
                }
            }
        }
        final EngineCounters c = engine.counters();
        assertEquals(FRAMES, c.get(EngineCounters.FRAMES_RECEIVED));
        assertEquals(verdicts[Verdict.DROP], c.get(EngineCounters.DROPPED));
        assertEquals(verdicts[Verdict.TX_CLIENT], c.get(EngineCounters.SYN_ACKS_SENT)
            + c.get(EngineCounters.NEIGHBOUR_REPLIES));
        assertEquals(verdicts[Verdict.TX_BACKEND], c.get(EngineCounters.ENCAPSULATED));
        long reasons = 0;
        for (final DropReason reason : DropReason.values()) {
            reasons += c.dropped(reason);
        }
        assertEquals(c.get(EngineCounters.DROPPED), reasons, "every drop is counted under exactly one reason");
        // The mutations must reach every path, or the test proves little.
        assertTrue(verdicts[Verdict.TX_CLIENT] > 10_000, "SYN-ACKs: " + verdicts[Verdict.TX_CLIENT]);
        assertTrue(verdicts[Verdict.TX_BACKEND] > 10_000, "encapsulated: " + verdicts[Verdict.TX_BACKEND]);
        for (final DropReason reason : DropReason.values()) {
            if (reason != DropReason.NONE && reason != DropReason.NO_BACKEND
                && reason != DropReason.NEXT_HOP_UNRESOLVED) {
                assertTrue(c.dropped(reason) > 0, "no frame was dropped for " + reason);
            }
        }
    }

    private static int room(final SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> random.nextInt(64);
            default -> 128;
        };
    }

    private static byte[] randomFrame(final SplittableRandom random) {
        final byte[] frame = new byte[random.nextInt(200)];
        random.nextBytes(frame);
        if (frame.length > 14 && random.nextBoolean()) {
            frame[0] = 2;
            frame[12] = (byte) (random.nextBoolean() ? 0x08 : 0x86);
            frame[13] = (byte) (frame[12] == 0x08 ? 0x00 : 0xdd);
        }
        return frame;
    }

    private static byte[] mutate(final List<byte[]> seeds, final SplittableRandom random) {
        byte[] frame = seeds.get(random.nextInt(seeds.size())).clone();
        final int edits = 1 + random.nextInt(4);
        for (int e = 0; e < edits; e++) {
            switch (random.nextInt(6)) {
                case 0 -> frame = java.util.Arrays.copyOf(frame, random.nextInt(frame.length + 1));
                case 1 -> frame = java.util.Arrays.copyOf(frame, frame.length + random.nextInt(40));
                default -> {
                    if (frame.length > 0) {
                        // Mostly in the headers, where the parser's decisions are.
                        final int at = random.nextInt(Math.min(frame.length, random.nextBoolean() ? 80 : 2000));
                        frame[at] = (byte) (random.nextBoolean() ? random.nextInt(256) : frame[at] ^ (1 << random
                            .nextInt(8)));
                    }
                }
            }
        }
        return frame;
    }

    /** Every fixture frame: SYNs of every shape, ACKs, and the frames that must be dropped. */
    private static List<byte[]> seeds() throws IOException {
        final List<byte[]> seeds = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(GoldenFixtureTest.FIXTURES, "*.pcap")) {
            for (final Path file : files) {
                try (PcapReader reader = new PcapReader(file)) {
                    for (PcapReader.Frame f = reader.next(); f != null; f = reader.next()) {
                        seeds.add(f.data());
                    }
                }
            }
        }
        return seeds;
    }
}
