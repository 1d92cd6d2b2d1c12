package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import java.io.File;
import java.lang.foreign.MemorySegment;
import java.nio.MappedByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

/**
 * The counters file: Agrona counters in a memory-mapped file, written by the workers (each its own counters, single
 * writer, ordered stores) and read live by {@code synproxy stat} from another process, as Aeron's CnC file is.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Magic "SPXS" (0x53505853)                 |  0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Version (1)                               |  4
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Metadata length                           |  8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Values length                             | 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Writer's process id (64 bits)             | 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      ... padding to 64 bytes ...               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Counter metadata (Agrona CountersManager)           | 64
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Counter values (one 128-byte slot each)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class StatsFile implements AutoCloseable {
    public static final int MAGIC = 0x53505853;
    public static final int VERSION = 1;
    public static final int HEADER_LENGTH = 64;

    private final MappedByteBuffer mapped;
    private final UnsafeBuffer metadata;
    private final UnsafeBuffer values;
    private final CountersManager manager;
    /** DPDK telemetry reads the mapping from its own thread: it lets go before the file is unmapped. */
    private boolean telemetry;

    private StatsFile(final MappedByteBuffer mapped, final UnsafeBuffer metadata, final UnsafeBuffer values) {
        this.mapped = mapped;
        this.metadata = metadata;
        this.values = values;
        this.manager = new CountersManager(metadata, values, StandardCharsets.US_ASCII);
    }

    /** Where the counters' metadata records and value slots are mapped in this process, and their lengths in bytes. */
    public record Regions(long metadataAddress, int metadataLength, long valuesAddress, int valuesLength) {
    }

    /** Creates (or replaces) the file with room for {@code counters} counters. */
    public static StatsFile create(final Path path, final int counters) {
        final int values = Math.max(1, counters) * CountersReader.COUNTER_LENGTH;
        final int metadata = values * (CountersReader.METADATA_LENGTH / CountersReader.COUNTER_LENGTH);
        final File file = path.toFile();
        IoUtil.deleteIfExists(file);
        final MappedByteBuffer mapped = IoUtil.mapNewFile(file, HEADER_LENGTH + metadata + values);
        final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
        header.putInt(4, VERSION);
        header.putInt(8, metadata);
        header.putInt(12, values);
        header.putLong(16, ProcessHandle.current().pid());
        final StatsFile stats = new StatsFile(mapped, new UnsafeBuffer(mapped, HEADER_LENGTH, metadata),
            new UnsafeBuffer(mapped, HEADER_LENGTH + metadata, values));
        // The magic goes last: a reader that sees it sees a complete header.
        header.putIntRelease(0, MAGIC);
        return stats;
    }

    /** The two buffers of the counters, for a native reader in this process (DPDK telemetry). */
    public Regions regions() {
        return new Regions(metadata.addressOffset(), metadata.capacity(), values.addressOffset(), values.capacity());
    }

    /**
     * Serves the counters through DPDK telemetry ({@code /synproxy/counters}, {@code /synproxy/workers}) until
     * {@link #close}; 0 or the shim's negative errno.
     */
    public synchronized int registerTelemetry() {
        final Regions r = regions();
        final int rc = Shim.telemetryRegister(MemorySegment.ofAddress(r.metadataAddress()), r.metadataLength(),
            MemorySegment.ofAddress(r.valuesAddress()), r.valuesLength());
        telemetry |= rc == 0;
        return rc;
    }

    public synchronized AtomicCounter newCounter(final String label) {
        return manager.newCounter(label);
    }

    /** Opens a file another process writes, for reading; the message of any failure says what is wrong. */
    public static CountersReader open(final Path path) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path + ": no counters file; is `synproxy run` running with this "
                + "dataplane.stats_file?");
        }
        final MappedByteBuffer mapped = IoUtil.mapExistingFile(path.toFile(), "counters");
        final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
        if (header.getIntVolatile(0) != MAGIC || header.getInt(4) != VERSION) {
            throw new IllegalStateException(path + ": not a synproxy counters file of version " + VERSION);
        }
        final int metadata = header.getInt(8);
        final int values = header.getInt(12);
        return new CountersReader(new UnsafeBuffer(mapped, HEADER_LENGTH, metadata),
            new UnsafeBuffer(mapped, HEADER_LENGTH + metadata, values), StandardCharsets.US_ASCII);
    }

    /** The writer's process id recorded in a counters file. */
    public static long writerPid(final Path path) {
        final MappedByteBuffer mapped = IoUtil.mapExistingFile(path.toFile(), "counters");
        try {
            return new UnsafeBuffer(mapped, 0, HEADER_LENGTH).getLong(16);
        } finally {
            IoUtil.unmap(mapped);
        }
    }

    @Override
    public synchronized void close() {
        if (telemetry) {
            Shim.telemetryDetach();
            telemetry = false;
        }
        IoUtil.unmap(mapped);
    }
}
