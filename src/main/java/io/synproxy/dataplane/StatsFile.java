package io.synproxy.dataplane;

import io.synproxy.bindings.Shim;
import java.io.File;
import java.lang.foreign.MemorySegment;
import java.nio.MappedByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.agrona.IoUtil;
import org.agrona.concurrent.SystemEpochClock;
import org.agrona.concurrent.errors.DistinctErrorLog;
import org.agrona.concurrent.errors.ErrorConsumer;
import org.agrona.concurrent.errors.ErrorLogReader;
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
 * |                      Error log length                          | 24
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      ... padding to 64 bytes ...               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Counter metadata (Agrona CountersManager)           | 64
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Counter values (one 128-byte slot each)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Distinct error log (Agrona DistinctErrorLog)        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * The error log keeps each distinct error once, with how often and when first and last it was seen, as Aeron's
 * CnC file does: {@code synproxy errors} reads it while the proxy runs, or after it stopped.
 */
public final class StatsFile implements AutoCloseable {
    public static final int MAGIC = 0x53505853;
    public static final int VERSION = 2;
    public static final int HEADER_LENGTH = 64;
    private static final int ERROR_LOG_LENGTH_OFFSET = 24;
    /** Room for the distinct errors: each is kept once (its stack trace, a count, first and last time). */
    public static final int ERROR_LOG_LENGTH = 1 << 20;

    private final MappedByteBuffer mapped;
    private final UnsafeBuffer metadata;
    private final UnsafeBuffer values;
    private final CountersManager manager;
    private final DistinctErrorLog errors;
    /** DPDK telemetry reads the mapping from its own thread: it lets go before the file is unmapped. */
    private boolean telemetry;

    private StatsFile(final MappedByteBuffer mapped, final UnsafeBuffer metadata, final UnsafeBuffer values,
                      final DistinctErrorLog errors) {
        this.mapped = mapped;
        this.metadata = metadata;
        this.values = values;
        this.manager = new CountersManager(metadata, values, StandardCharsets.US_ASCII);
        this.errors = errors;
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
        final MappedByteBuffer mapped = IoUtil.mapNewFile(file, (long) HEADER_LENGTH + metadata + values
            + ERROR_LOG_LENGTH);
        final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
        header.putInt(4, VERSION);
        header.putInt(8, metadata);
        header.putInt(12, values);
        header.putLong(16, ProcessHandle.current().pid());
        header.putInt(ERROR_LOG_LENGTH_OFFSET, ERROR_LOG_LENGTH);
        final DistinctErrorLog errors = new DistinctErrorLog(new UnsafeBuffer(mapped, HEADER_LENGTH + metadata + values,
            ERROR_LOG_LENGTH), new SystemEpochClock(), StandardCharsets.UTF_8);
        final StatsFile stats = new StatsFile(mapped, new UnsafeBuffer(mapped, HEADER_LENGTH, metadata),
            new UnsafeBuffer(mapped, HEADER_LENGTH + metadata, values), errors);
        // The magic goes last: a reader that sees it sees a complete header.
        header.putIntRelease(0, MAGIC);
        return stats;
    }

    /** The counters as this process wrote them (for readers in the same process: the metrics). */
    public CountersReader reader() {
        return manager;
    }

    /**
     * Records an error once per distinct stack trace (any thread but a worker's: it allocates and locks). Returns
     * false when the log is full (the error is then only printed).
     */
    public boolean recordError(final Throwable error) {
        return errors.record(error);
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

    /**
     * The distinct errors of a counters file another process writes (or wrote), as {@code consumer} takes them:
     * observation count, first and last time (epoch milliseconds), the encoded error. Returns how many there are.
     */
    public static int readErrors(final Path path, final ErrorConsumer consumer) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path + ": no counters file; is `synproxy run` running with this "
                + "dataplane.stats_file?");
        }
        final MappedByteBuffer mapped = IoUtil.mapExistingFile(path.toFile(), "counters");
        try {
            final UnsafeBuffer header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
            if (header.getIntVolatile(0) != MAGIC || header.getInt(4) != VERSION) {
                throw new IllegalStateException(path + ": not a synproxy counters file of version " + VERSION);
            }
            final int at = HEADER_LENGTH + header.getInt(8) + header.getInt(12);
            return ErrorLogReader.read(new UnsafeBuffer(mapped, at, header.getInt(ERROR_LOG_LENGTH_OFFSET)), consumer);
        } finally {
            IoUtil.unmap(mapped);
        }
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
