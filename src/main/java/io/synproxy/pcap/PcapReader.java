package io.synproxy.pcap;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads classic libpcap files (microsecond or nanosecond timestamps, either byte order) with Ethernet link type.
 * Not for the fast path: it allocates a record per frame.
 */
public final class PcapReader implements Closeable {
    public static final int LINKTYPE_ETHERNET = 1;
    static final int MAGIC_MICROS = 0xa1b2c3d4;
    static final int MAGIC_NANOS = 0xa1b23c4d;

    /** One captured frame: its capture time and its bytes (as captured; a snapped frame is shorter). */
    public record Frame(long timestampNanos, byte[] data) {
        public long timestampMillis() {
            return Math.floorDiv(timestampNanos, 1_000_000L);
        }
    }

    private final Path file;
    private final DataInputStream in;
    private final ByteOrder order;
    private final boolean nanos;

    public PcapReader(final Path file) throws IOException {
        this.file = file;
        final InputStream raw;
        try {
            raw = Files.newInputStream(file);
        } catch (final IOException e) {
            throw new IOException(file + ": cannot read the capture (" + e.getClass().getSimpleName() + ")", e);
        }
        this.in = new DataInputStream(new BufferedInputStream(raw, 1 << 16));
        final byte[] header = new byte[24];
        try {
            in.readFully(header);
        } catch (final EOFException e) {
            in.close();
            throw new IOException(file + ": not a pcap file (shorter than the 24-byte file header)");
        }
        final int magicBig = ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN).getInt(0);
        final int magicLittle = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        if (magicBig == MAGIC_MICROS || magicBig == MAGIC_NANOS) {
            order = ByteOrder.BIG_ENDIAN;
            nanos = magicBig == MAGIC_NANOS;
        } else if (magicLittle == MAGIC_MICROS || magicLittle == MAGIC_NANOS) {
            order = ByteOrder.LITTLE_ENDIAN;
            nanos = magicLittle == MAGIC_NANOS;
        } else {
            in.close();
            throw new IOException(file + ": not a classic pcap file (bad magic; pcapng is not supported: convert "
                + "it with `editcap -F pcap IN OUT`)");
        }
        final int linkType = ByteBuffer.wrap(header).order(order).getInt(20);
        if ((linkType & 0xffff) != LINKTYPE_ETHERNET) {
            in.close();
            throw new IOException(file + ": link type " + linkType + " is not Ethernet (1)");
        }
    }

    /** The next frame, or null at the end of the file. */
    public Frame next() throws IOException {
        final byte[] recordHeader = new byte[16];
        try {
            in.readFully(recordHeader);
        } catch (final EOFException e) {
            return null;
        }
        final ByteBuffer h = ByteBuffer.wrap(recordHeader).order(order);
        final long seconds = h.getInt(0) & 0xffffffffL;
        final long fraction = h.getInt(4) & 0xffffffffL;
        final int captured = h.getInt(8);
        if (captured < 0 || captured > 262_144) {
            throw new IOException(file + ": corrupt record (captured length " + captured + ")");
        }
        final byte[] data = new byte[captured];
        try {
            in.readFully(data);
        } catch (final EOFException e) {
            throw new IOException(file + ": truncated record at the end of the file");
        }
        return new Frame(seconds * 1_000_000_000L + (nanos ? fraction : fraction * 1000), data);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
