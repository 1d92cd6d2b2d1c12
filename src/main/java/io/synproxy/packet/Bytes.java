package io.synproxy.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.agrona.UnsafeApi;

/**
 * The value layouts of wire formats (network byte order, no alignment: headers sit at any offset in a frame), and the
 * loads and stores the packet path makes with them.
 *
 * <p>The packet path reads and writes frames only through the methods below, in one of two modes fixed at start-up
 * (a {@code static final}, so the JIT compiles only the one in force):
 * <ul>
 *   <li><b>Checked</b> (the default): through the {@link MemorySegment}, which checks every access against the
 *       segment's bounds and its session. Tests and the fuzzer run so: a read past a test frame's end throws.</li>
 *   <li><b>Unchecked</b> ({@code -Dsynproxy.segmentChecks=false}, as the launcher runs the data plane): plain loads
 *       and stores at the segment's address plus the offset (Agrona's {@link UnsafeApi}). The data plane's segment is
 *       the whole address space and its session the global one, so those checks could never fail there; they cost
 *       the ACK path about a sixth of its time (profile, see the README). What keeps every access inside its frame is
 *       the engine's own check before it, as in both modes. A heap segment (tests build frames in arrays) is
 *       still read through its checks: it has no address.</li>
 * </ul>
 */
public final class Bytes {
    public static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** Little-endian words: how SipHash reads its message, so message bytes load straight from the packet. */
    public static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Host byte order (the shim's descriptors). */
    public static final ValueLayout.OfShort NATIVE16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    public static final ValueLayout.OfInt NATIVE32 = ValueLayout.JAVA_INT_UNALIGNED;
    public static final ValueLayout.OfLong NATIVE64 = ValueLayout.JAVA_LONG_UNALIGNED;

    /** The system property that turns the segments' own checks off (value {@code false}). */
    public static final String SEGMENT_CHECKS_PROPERTY = "synproxy.segmentChecks";
    /** Whether accesses go through the segment's checks (see the class comment). */
    public static final boolean SEGMENT_CHECKS = !"false".equals(System.getProperty(SEGMENT_CHECKS_PROPERTY));
    private static final boolean BIG = true;
    private static final boolean LITTLE = false;

    private Bytes() {
    }

    /**
     * Whether an access to {@code m} goes through its checks: always in checked mode, and for a heap segment (no
     * address to load from) in either. On the data plane the segment's class is the one native class, so the JIT
     * folds the test away.
     */
    private static boolean checked(final MemorySegment m) {
        return SEGMENT_CHECKS || !m.isNative();
    }

    public static byte getU8(final MemorySegment m, final long at) {
        return checked(m) ? m.get(U8, at) : UnsafeApi.getByte(m.address() + at);
    }

    public static short getU16(final MemorySegment m, final long at) {
        return checked(m) ? m.get(U16, at) : UnsafeApi.getShortUnaligned(null, m.address() + at, BIG);
    }

    public static int getU32(final MemorySegment m, final long at) {
        return checked(m) ? m.get(U32, at) : UnsafeApi.getIntUnaligned(null, m.address() + at, BIG);
    }

    public static long getU64(final MemorySegment m, final long at) {
        return checked(m) ? m.get(U64, at) : UnsafeApi.getLongUnaligned(null, m.address() + at, BIG);
    }

    public static int getLE32(final MemorySegment m, final long at) {
        return checked(m) ? m.get(LE32, at) : UnsafeApi.getIntUnaligned(null, m.address() + at, LITTLE);
    }

    public static long getLE64(final MemorySegment m, final long at) {
        return checked(m) ? m.get(LE64, at) : UnsafeApi.getLongUnaligned(null, m.address() + at, LITTLE);
    }

    public static short getNative16(final MemorySegment m, final long at) {
        return checked(m) ? m.get(NATIVE16, at) : UnsafeApi.getShortUnaligned(null, m.address() + at);
    }

    public static int getNative32(final MemorySegment m, final long at) {
        return checked(m) ? m.get(NATIVE32, at) : UnsafeApi.getIntUnaligned(null, m.address() + at);
    }

    public static long getNative64(final MemorySegment m, final long at) {
        return checked(m) ? m.get(NATIVE64, at) : UnsafeApi.getLongUnaligned(null, m.address() + at);
    }

    public static void setU8(final MemorySegment m, final long at, final byte value) {
        if (checked(m)) {
            m.set(U8, at, value);
        } else {
            UnsafeApi.putByte(m.address() + at, value);
        }
    }

    public static void setU16(final MemorySegment m, final long at, final short value) {
        if (checked(m)) {
            m.set(U16, at, value);
        } else {
            UnsafeApi.putShortUnaligned(null, m.address() + at, value, BIG);
        }
    }

    public static void setU32(final MemorySegment m, final long at, final int value) {
        if (checked(m)) {
            m.set(U32, at, value);
        } else {
            UnsafeApi.putIntUnaligned(null, m.address() + at, value, BIG);
        }
    }

    public static void setU64(final MemorySegment m, final long at, final long value) {
        if (checked(m)) {
            m.set(U64, at, value);
        } else {
            UnsafeApi.putLongUnaligned(null, m.address() + at, value, BIG);
        }
    }

    public static void setLE32(final MemorySegment m, final long at, final int value) {
        if (checked(m)) {
            m.set(LE32, at, value);
        } else {
            UnsafeApi.putIntUnaligned(null, m.address() + at, value, LITTLE);
        }
    }

    public static void setLE64(final MemorySegment m, final long at, final long value) {
        if (checked(m)) {
            m.set(LE64, at, value);
        } else {
            UnsafeApi.putLongUnaligned(null, m.address() + at, value, LITTLE);
        }
    }

    public static void setNative16(final MemorySegment m, final long at, final short value) {
        if (checked(m)) {
            m.set(NATIVE16, at, value);
        } else {
            UnsafeApi.putShortUnaligned(null, m.address() + at, value);
        }
    }

    public static void setNative32(final MemorySegment m, final long at, final int value) {
        if (checked(m)) {
            m.set(NATIVE32, at, value);
        } else {
            UnsafeApi.putIntUnaligned(null, m.address() + at, value);
        }
    }

    public static void setNative64(final MemorySegment m, final long at, final long value) {
        if (checked(m)) {
            m.set(NATIVE64, at, value);
        } else {
            UnsafeApi.putLongUnaligned(null, m.address() + at, value);
        }
    }
}
