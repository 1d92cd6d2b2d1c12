package io.synproxy.pcap;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes classic libpcap files, nanosecond timestamps, Ethernet link type, little-endian. */
public final class PcapWriter implements Closeable {
    private static final int SNAP_LENGTH = 262_144;
    private final OutputStream out;
    private final ByteBuffer recordHeader = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);

    public PcapWriter(final Path file) throws IOException {
        try {
            out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        } catch (final IOException e) {
            throw new IOException(file + ": cannot write the capture (" + e.getClass().getSimpleName() + ")", e);
        }
        final ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(PcapReader.MAGIC_NANOS).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
            .putInt(SNAP_LENGTH).putInt(PcapReader.LINKTYPE_ETHERNET);
        out.write(header.array());
    }

    public void write(final long timestampNanos, final byte[] data) throws IOException {
        recordHeader.clear();
        recordHeader.putInt((int) Math.floorDiv(timestampNanos, 1_000_000_000L))
            .putInt((int) Math.floorMod(timestampNanos, 1_000_000_000L)).putInt(data.length).putInt(data.length);
        out.write(recordHeader.array());
        out.write(data);
    }

    /** Writes {@code length} bytes at {@code offset} of native memory. */
    public void write(final long timestampNanos, final MemorySegment memory, final long offset, final int length)
        throws IOException {
        write(timestampNanos, memory.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE));
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
