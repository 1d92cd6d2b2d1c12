package io.synproxy.engine;

import io.synproxy.config.ProxyConfig;
import java.util.List;

/**
 * The set of (VIP address, port) pairs, as open-addressing hash tables of primitives: one probe, usually one cache
 * line, no boxing. Built once from the configuration and read-only afterwards, but for a one-entry cache of the
 * last IPv4 pair found: a flood, and most traffic, goes to one VIP and port. One instance per engine (per worker).
 */
final class VipTable {
    private final long[] v4Keys;
    private final int v4Shift;
    /** The last IPv4 key found; -1 (no key: keys are 48 bits) until then. */
    private long lastV4Hit = -1;
    private final long[] v6High;
    private final long[] v6Low;
    private final int[] v6Port;
    private final int v6Shift;
    /** VIP and own addresses, for ARP and neighbour discovery: few, scanned linearly, off the TCP path. */
    private final int[] ownV4;
    private final long[] ownV6;

    VipTable(final List<ProxyConfig.Vip> vips, final List<io.synproxy.config.IpAddress> ownAddresses) {
        int count4 = 0;
        int count6 = 0;
        for (final ProxyConfig.Vip vip : vips) {
            if (vip.address().v6()) {
                count6 += vip.ports().length;
            } else {
                count4 += vip.ports().length;
            }
        }
        final int size4 = tableSize(count4);
        final int size6 = tableSize(count6);
        v4Keys = new long[size4];
        v4Shift = 64 - Integer.numberOfTrailingZeros(size4);
        v6High = new long[size6];
        v6Low = new long[size6];
        v6Port = new int[size6];
        v6Shift = 64 - Integer.numberOfTrailingZeros(size6);
        final java.util.List<io.synproxy.config.IpAddress> all = new java.util.ArrayList<>(ownAddresses);
        vips.forEach(v -> all.add(v.address()));
        ownV4 = all.stream().filter(a -> !a.v6()).mapToInt(io.synproxy.config.IpAddress::v4).distinct().toArray();
        ownV6 = all.stream().filter(io.synproxy.config.IpAddress::v6).distinct()
            .flatMapToLong(a -> java.util.stream.LongStream.of(a.high(), a.low())).toArray();
        for (final ProxyConfig.Vip vip : vips) {
            for (final int port : vip.ports()) {
                if (vip.address().v6()) {
                    int slot = slot6(vip.address().high(), vip.address().low(), port);
                    while (v6Port[slot] != 0) {
                        slot = (slot + 1) & (size6 - 1);
                    }
                    v6High[slot] = vip.address().high();
                    v6Low[slot] = vip.address().low();
                    v6Port[slot] = port;
                } else {
                    final long key = key4(vip.address().v4(), port);
                    int slot = slot4(key);
                    while (v4Keys[slot] != 0) {
                        slot = (slot + 1) & (size4 - 1);
                    }
                    v4Keys[slot] = key;
                }
            }
        }
    }

    private static int tableSize(final int entries) {
        return Math.max(16, Integer.highestOneBit(Math.max(1, entries) * 4 - 1) << 1);
    }

    /** Never 0 for a valid VIP (port 0 is refused by the configuration), so 0 marks an empty slot. */
    private static long key4(final int address, final int port) {
        return ((address & 0xffffffffL) << 16) | port;
    }

    private int slot4(final long key) {
        return (int) ((key * 0x9e3779b97f4a7c15L) >>> v4Shift);
    }

    private int slot6(final long high, final long low, final int port) {
        return (int) (((high ^ Long.rotateLeft(low, 29) ^ port) * 0x9e3779b97f4a7c15L) >>> v6Shift);
    }

    boolean containsV4(final int address, final int port) {
        final long key = key4(address, port);
        if (key == lastV4Hit) {
            return true;
        }
        final int mask = v4Keys.length - 1;
        for (int slot = slot4(key); ; slot = (slot + 1) & mask) {
            final long k = v4Keys[slot];
            // Empty first: 0.0.0.0 port 0 would otherwise match an empty slot.
            if (k == 0) {
                return false;
            }
            if (k == key) {
                lastV4Hit = key;
                return true;
            }
        }
    }

    /** True for a VIP address or one of the proxy's own (answered in ARP). */
    boolean ownsV4(final int address) {
        for (final int own : ownV4) {
            if (own == address) {
                return true;
            }
        }
        return false;
    }

    /** True for a VIP address or one of the proxy's own (answered in neighbour discovery). */
    boolean ownsV6(final long high, final long low) {
        for (int i = 0; i < ownV6.length; i += 2) {
            if (ownV6[i] == high && ownV6[i + 1] == low) {
                return true;
            }
        }
        return false;
    }

    boolean containsV6(final long high, final long low, final int port) {
        final int mask = v6Port.length - 1;
        for (int slot = slot6(high, low, port); ; slot = (slot + 1) & mask) {
            final int p = v6Port[slot];
            if (p == 0) {
                return false;
            }
            if (p == port && v6High[slot] == high && v6Low[slot] == low) {
                return true;
            }
        }
    }
}
