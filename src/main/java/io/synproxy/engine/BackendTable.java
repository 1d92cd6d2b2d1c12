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
    private final int[] maglev;
    private final boolean[] v6;
    private final int[] addressV4;
    private final long[] addressHigh;
    private final long[] addressLow;
    private final long[] nextHopMac;
    private final int sourceV4;
    private final long sourceHigh;
    private final long sourceLow;
    private final List<String> names;

    public BackendTable(final List<ProxyConfig.Backend> backends, final ProxyConfig.Encap encap,
                        final int maglevTableSize) {
        final int n = backends.size();
        v6 = new boolean[n];
        addressV4 = new int[n];
        addressHigh = new long[n];
        addressLow = new long[n];
        nextHopMac = new long[n];
        names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            final IpAddress address = backends.get(i).address();
            v6[i] = address.v6();
            addressV4[i] = address.v4();
            addressHigh[i] = address.high();
            addressLow[i] = address.low();
            nextHopMac[i] = backends.get(i).mac();
            names.add(address.text());
        }
        maglev = Maglev.build(names, maglevTableSize);
        sourceV4 = encap.sourceV4() == null ? 0 : encap.sourceV4().v4();
        sourceHigh = encap.sourceV6() == null ? 0 : encap.sourceV6().high();
        sourceLow = encap.sourceV6() == null ? 0 : encap.sourceV6().low();
    }

    public static BackendTable of(final ProxyConfig config) {
        return new BackendTable(config.backends(), config.encap(), config.maglevTableSize());
    }

    /** The backend index for a flow hash. */
    public int lookup(final long flowHash) {
        return maglev[Maglev.slot(flowHash, maglev.length)];
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

    public String name(final int backend) {
        return names.get(backend);
    }

    /** The Maglev table itself, for tests and tools. */
    public int[] maglevTable() {
        return maglev.clone();
    }
}
