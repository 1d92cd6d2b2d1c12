package io.synproxy.engine;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SipHash;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * An immutable snapshot of the backends and their Maglev table, in flat primitive arrays the fast path indexes
 * directly. Built off the fast path (the control thread, when backends change) and swapped in by a worker between
 * bursts.
 *
 * <p>The backends are put in a canonical order (IPv4 before IPv6, then by address bytes) before the Maglev table is
 * built: Maglev's slot claims take turns in list order, so two proxies whose files list the same backends in another
 * order would otherwise build different tables, and a flow that ECMP spreads over both would break.
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
    /** Per backend: its next hop's address when its MAC is resolved while running (null: the host's route). */
    private final IpAddress[] nextHop;
    private final boolean[] resolved;
    /** Each backend's authentication key ({@link BackendKeys}), as SipHash's two key words. */
    private final long[] authK0;
    private final long[] authK1;
    private final String[] names;
    private final int sourceV4;
    private final long sourceHigh;
    private final long sourceLow;

    public BackendTable(final List<ProxyConfig.Backend> listed, final ProxyConfig.Encap encap,
                        final int maglevTableSize, final byte[] authKey) {
        final List<ProxyConfig.Backend> backends = new ArrayList<>(listed);
        backends.sort(CANONICAL);
        final int n = backends.size();
        v6 = new boolean[n];
        addressV4 = new int[n];
        addressHigh = new long[n];
        addressLow = new long[n];
        nextHopMac = new long[n];
        nextHop = new IpAddress[n];
        resolved = new boolean[n];
        authK0 = new long[n];
        authK1 = new long[n];
        final List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            final IpAddress address = backends.get(i).address();
            v6[i] = address.v6();
            addressV4[i] = address.v4();
            addressHigh[i] = address.high();
            addressLow[i] = address.low();
            nextHopMac[i] = backends.get(i).mac();
            nextHop[i] = backends.get(i).nextHop();
            resolved[i] = backends.get(i).resolved();
            final byte[] key = BackendKeys.derive(authKey, address);
            authK0[i] = SipHash.keyWord(key, 0);
            authK1[i] = SipHash.keyWord(key, 1);
            names.add(address.text());
        }
        this.names = names.toArray(new String[0]);
        maglevV4 = familyTable(names, v6, false, maglevTableSize);
        maglevV6 = familyTable(names, v6, true, maglevTableSize);
        sourceV4 = encap.sourceV4() == null ? 0 : encap.sourceV4().v4();
        sourceHigh = encap.sourceV6() == null ? 0 : encap.sourceV6().high();
        sourceLow = encap.sourceV6() == null ? 0 : encap.sourceV6().low();
    }

    private BackendTable(final BackendTable base, final long[] macs) {
        maglevV4 = base.maglevV4;
        maglevV6 = base.maglevV6;
        v6 = base.v6;
        addressV4 = base.addressV4;
        addressHigh = base.addressHigh;
        addressLow = base.addressLow;
        nextHopMac = macs;
        nextHop = base.nextHop;
        resolved = base.resolved;
        authK0 = base.authK0;
        authK1 = base.authK1;
        names = base.names;
        sourceV4 = base.sourceV4;
        sourceHigh = base.sourceHigh;
        sourceLow = base.sourceLow;
    }

    /**
     * The same backends and Maglev table with the next-hop MACs resolved while running ({@code macs} by backend
     * address; a backend it does not name has none, and its traffic is dropped and counted until it has).
     */
    public BackendTable withResolvedMacs(final java.util.Map<String, Long> macs) {
        final long[] updated = nextHopMac.clone();
        for (int i = 0; i < updated.length; i++) {
            if (resolved[i]) {
                updated[i] = macs.getOrDefault(names[i], ProxyConfig.NO_MAC);
            }
        }
        return new BackendTable(this, updated);
    }

    /** Whether backend {@code i}'s next-hop MAC is resolved while running (not configured). */
    public boolean resolved(final int backend) {
        return resolved[backend];
    }

    /** The next hop's address of a resolved backend, or null: the host's route to the backend decides. */
    public IpAddress nextHop(final int backend) {
        return nextHop[backend];
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

    /** IPv4 before IPv6, then by the address's bytes: the order every node agrees on. */
    private static final Comparator<ProxyConfig.Backend> CANONICAL = Comparator
        .comparing((ProxyConfig.Backend b) -> b.address().v6())
        .thenComparing(b -> b.address().bytes(), Arrays::compareUnsigned);

    public static BackendTable of(final ProxyConfig config, final ProxyKeys keys) {
        return new BackendTable(config.backends(), config.encap(), config.maglevTableSize(), keys.authKey());
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

    public long authK0(final int backend) {
        return authK0[backend];
    }

    public long authK1(final int backend) {
        return authK1[backend];
    }

    /** The backend's address as text (for logs and tests). */
    public String address(final int backend) {
        return names[backend];
    }

    /** The next hop's MAC, or {@link ProxyConfig#NO_MAC} while it is unresolved. */
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
