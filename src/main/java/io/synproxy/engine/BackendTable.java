package io.synproxy.engine;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * An immutable snapshot of the backends and their Maglev table, in flat primitive arrays the fast path indexes
 * directly. Built off the fast path (the control thread, when backends change) and swapped in by a worker between
 * bursts.
 */
public final class BackendTable {
    /** Maglev tables over the IPv4 and the IPv6 backends (entries index the arrays below); empty if none. */
    private final int[] maglevV4;
    private final int[] maglevV6;
    private final boolean[] v6;
    private final int[] addressV4;
    private final long[] addressHigh;
    private final long[] addressLow;
    private final long[] nextHopMac;
    private final int sourceV4;
    private final long sourceHigh;
    private final long sourceLow;

    public BackendTable(final List<ProxyConfig.Backend> backends, final ProxyConfig.Encap encap,
                        final int maglevTableSize) {
        final int n = backends.size();
        v6 = new boolean[n];
        addressV4 = new int[n];
        addressHigh = new long[n];
        addressLow = new long[n];
        nextHopMac = new long[n];
        final List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            final IpAddress address = backends.get(i).address();
            v6[i] = address.v6();
            addressV4[i] = address.v4();
            addressHigh[i] = address.high();
            addressLow[i] = address.low();
            nextHopMac[i] = backends.get(i).mac();
            names.add(address.text());
        }
        maglevV4 = familyTable(names, v6, false, maglevTableSize);
        maglevV6 = familyTable(names, v6, true, maglevTableSize);
        sourceV4 = encap.sourceV4() == null ? 0 : encap.sourceV4().v4();
        sourceHigh = encap.sourceV6() == null ? 0 : encap.sourceV6().high();
        sourceLow = encap.sourceV6() == null ? 0 : encap.sourceV6().low();
    }

    /** A Maglev table over the backends of one family, mapped back to indexes into all backends. */
    private static int[] familyTable(final List<String> names, final boolean[] v6, final boolean family,
                                     final int size) {
        final List<String> members = new ArrayList<>();
        final List<Integer> indexes = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            if (v6[i] == family) {
                members.add(names.get(i));
                indexes.add(i);
            }
        }
        if (members.isEmpty()) {
            return new int[0];
        }
        final int[] table = Maglev.build(members, size);
        for (int slot = 0; slot < table.length; slot++) {
            table[slot] = indexes.get(table[slot]);
        }
        return table;
    }

    public static BackendTable of(final ProxyConfig config) {
        return new BackendTable(config.backends(), config.encap(), config.maglevTableSize());
    }

    /**
     * The backend for a flow: among the backends of the client's family when there are any (no protocol change
     * on decapsulation), else among the others.
     */
    public int lookup(final long flowHash, final boolean clientV6) {
        final int[] table = clientV6 ? (maglevV6.length > 0 ? maglevV6 : maglevV4)
            : (maglevV4.length > 0 ? maglevV4 : maglevV6);
        return table[Maglev.slot(flowHash, table.length)];
    }

    public int size() {
        return v6.length;
    }

    public boolean isV6(final int backend) {
        return v6[backend];
    }

    public int addressV4(final int backend) {
        return addressV4[backend];
    }

    public long addressHigh(final int backend) {
        return addressHigh[backend];
    }

    public long addressLow(final int backend) {
        return addressLow[backend];
    }

    public long nextHopMac(final int backend) {
        return nextHopMac[backend];
    }

    public int sourceV4() {
        return sourceV4;
    }

    public long sourceHigh() {
        return sourceHigh;
    }

    public long sourceLow() {
        return sourceLow;
    }

}
