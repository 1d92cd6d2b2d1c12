package io.synproxy.engine;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SipHash;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable snapshot of the backends and their Maglev tables, in flat primitive arrays the fast path indexes
 * directly. Built off the fast path (the control thread, when backends change) and swapped in by a worker between
 * bursts.
 *
 * <p>The entries are every configured backend: the <em>members</em> (active and healthy) own the Maglev slots; the
 * others (draining, failing their health check) own none but may still be a slot's <em>previous owner</em>. When the
 * table changes, each slot that changed hands remembers its previous owner until a deadline (Beamer's daisy chaining:
 * {@code maglev.chain_seconds}, or {@code maglev.drain_limit_seconds} for a draining backend); a slot that did not
 * change keeps the previous owner it had. An unmarked packet of such a slot names that owner in its encapsulation
 * header, and the new owner's program hands it over when it has no socket for it: established connections survive
 * the change, and the proxy keeps no per-connection state. Chain depth 1 per slot, as in Beamer: a slot that changes
 * hands twice within the window forgets the older owner.
 *
 * <p>The members are put in a canonical order (IPv4 before IPv6, then by address bytes) before the Maglev table is
 * built: Maglev's slot claims take turns in list order, so two proxies whose files list the same backends in another
 * order would otherwise build different tables, and a flow that ECMP spreads over both would break.
 */
public final class BackendTable {
    /** No previous owner. */
    public static final int NONE = -1;

    /** Maglev tables over the IPv4 and the IPv6 members (entries index the arrays below); empty if none. */
    private final int[] maglevV4;
    private final int[] maglevV6;
    /** Per slot: the previous owner (an entry, or {@link #NONE}) and until when it is named (epoch ms). */
    private final int[] previousV4;
    private final int[] previousV6;
    private final long[] previousUntilV4;
    private final long[] previousUntilV6;
    /** Whether any slot names a previous owner: without a change in the window, unmarked packets skip the look. */
    private final boolean chaining;
    private final int movedSlots;
    private final boolean[] v6;
    private final boolean[] member;
    private final boolean[] draining;
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

    /** Every listed backend a member except the draining ones; no previous owners (the first table). */
    public BackendTable(final List<ProxyConfig.Backend> listed, final ProxyConfig.Encap encap,
                        final int maglevTableSize, final byte[] authKey) {
        this(null, listed, java.util.Set.of(), encap, maglevTableSize, authKey, 0, 0, 0);
    }

    /**
     * The table after a change from {@code before} (null: none): {@code listed} are the configured backends, of which
     * those draining or in {@code unhealthy} (addresses) own no slot.
     */
    public static BackendTable next(final BackendTable before, final List<ProxyConfig.Backend> listed,
                                    final java.util.Set<String> unhealthy, final ProxyConfig.Encap encap,
                                    final int maglevTableSize, final byte[] authKey, final long nowMillis,
                                    final long chainMillis, final long drainMillis) {
        return new BackendTable(before, listed, unhealthy, encap, maglevTableSize, authKey, nowMillis, chainMillis,
            drainMillis);
    }

    private BackendTable(final BackendTable before, final List<ProxyConfig.Backend> listed,
                         final java.util.Set<String> unhealthy, final ProxyConfig.Encap encap, final int size,
                         final byte[] authKey, final long now, final long chainMillis, final long drainMillis) {
        final List<ProxyConfig.Backend> backends = new ArrayList<>(listed);
        backends.sort(CANONICAL);
        final int n = backends.size();
        v6 = new boolean[n];
        member = new boolean[n];
        draining = new boolean[n];
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
            final ProxyConfig.Backend backend = backends.get(i);
            final IpAddress address = backend.address();
            v6[i] = address.v6();
            draining[i] = backend.draining();
            member[i] = !backend.draining() && !unhealthy.contains(address.text());
            addressV4[i] = address.v4();
            addressHigh[i] = address.high();
            addressLow[i] = address.low();
            nextHopMac[i] = backend.mac();
            nextHop[i] = backend.nextHop();
            resolved[i] = backend.resolved();
            final byte[] key = BackendKeys.derive(authKey, address);
            authK0[i] = SipHash.keyWord(key, 0);
            authK1[i] = SipHash.keyWord(key, 1);
            names.add(address.text());
        }
        this.names = names.toArray(new String[0]);
        maglevV4 = familyTable(names, v6, member, false, size);
        maglevV6 = familyTable(names, v6, member, true, size);
        previousV4 = new int[maglevV4.length];
        previousV6 = new int[maglevV6.length];
        previousUntilV4 = new long[maglevV4.length];
        previousUntilV6 = new long[maglevV6.length];
        final Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < n; i++) {
            index.put(this.names[i], i);
        }
        int moved = chain(before == null ? null : before.maglevV4, before, maglevV4, previousV4, previousUntilV4,
            index, now, chainMillis, drainMillis);
        moved += chain(before == null ? null : before.maglevV6, before, maglevV6, previousV6, previousUntilV6,
            index, now, chainMillis, drainMillis);
        movedSlots = moved;
        boolean any = false;
        for (final int p : previousV4) {
            any |= p != NONE;
        }
        for (final int p : previousV6) {
            any |= p != NONE;
        }
        chaining = any;
        sourceV4 = encap.sourceV4() == null ? 0 : encap.sourceV4().v4();
        sourceHigh = encap.sourceV6() == null ? 0 : encap.sourceV6().high();
        sourceLow = encap.sourceV6() == null ? 0 : encap.sourceV6().low();
    }

    /**
     * Fills one family's previous owners from the table before the change; returns the slots that changed hands.
     * Backends no longer configured are forgotten (an operator who removed one says it is gone).
     */
    private int chain(final int[] old, final BackendTable before, final int[] now, final int[] previous,
                      final long[] until, final Map<String, Integer> index, final long nowMillis,
                      final long chainMillis, final long drainMillis) {
        Arrays.fill(previous, NONE);
        if (old == null || old.length != now.length || now.length == 0) {
            return 0;
        }
        final boolean v6Family = before.maglevV6 == old;
        final int[] oldPrevious = v6Family ? before.previousV6 : before.previousV4;
        final long[] oldUntil = v6Family ? before.previousUntilV6 : before.previousUntilV4;
        int moved = 0;
        for (int slot = 0; slot < now.length; slot++) {
            final String owner = names[now[slot]];
            final String oldOwner = before.names[old[slot]];
            if (!owner.equals(oldOwner)) {
                moved++;
                final Integer was = index.get(oldOwner);
                if (was != null && chainMillis > 0) {
                    previous[slot] = was;
                    until[slot] = nowMillis + (draining[was] ? Math.max(drainMillis, chainMillis) : chainMillis);
                    continue;
                }
            }
            // Unchanged, or its owner is gone: the older previous owner stays named while its time lasts.
            final int older = oldPrevious[slot];
            if (older != NONE && oldUntil[slot] > nowMillis) {
                final Integer still = index.get(before.names[older]);
                if (still != null && !names[still].equals(owner)) {
                    previous[slot] = still;
                    until[slot] = oldUntil[slot];
                }
            }
        }
        return moved;
    }

    private BackendTable(final BackendTable base, final long[] macs) {
        maglevV4 = base.maglevV4;
        maglevV6 = base.maglevV6;
        previousV4 = base.previousV4;
        previousV6 = base.previousV6;
        previousUntilV4 = base.previousUntilV4;
        previousUntilV6 = base.previousUntilV6;
        chaining = base.chaining;
        movedSlots = base.movedSlots;
        v6 = base.v6;
        member = base.member;
        draining = base.draining;
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
    public BackendTable withResolvedMacs(final Map<String, Long> macs) {
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

    /** A Maglev table over the members of one family, mapped back to indexes into all entries. */
    private static int[] familyTable(final List<String> names, final boolean[] v6, final boolean[] member,
                                     final boolean family, final int size) {
        final List<String> members = new ArrayList<>();
        final List<Integer> indexes = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            if (v6[i] == family && member[i]) {
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

    /** The Maglev table a client of this family uses: its own family's when there is one, else the other's. */
    private int[] tableFor(final boolean clientV6) {
        return clientV6 ? (maglevV6.length > 0 ? maglevV6 : maglevV4) : (maglevV4.length > 0 ? maglevV4 : maglevV6);
    }

    /**
     * The backend for a flow: among the members of the client's family when there are any (no protocol change
     * on decapsulation), else among the others.
     */
    public int lookup(final long flowHash, final boolean clientV6) {
        final int[] table = tableFor(clientV6);
        return table[Maglev.slot(flowHash, table.length)];
    }

    /**
     * The flow's slot's previous owner while it is named (before {@code nowMillis} passes its deadline), else
     * {@link #NONE}. Without a change in the window this is one branch.
     */
    public int previousOwner(final long flowHash, final boolean clientV6, final long nowMillis) {
        if (!chaining) {
            return NONE;
        }
        final boolean v6Table = clientV6 ? maglevV6.length > 0 : maglevV4.length == 0;
        final int[] previous = v6Table ? previousV6 : previousV4;
        final int slot = Maglev.slot(flowHash, previous.length);
        final int owner = previous[slot];
        return owner != NONE && nowMillis < (v6Table ? previousUntilV6 : previousUntilV4)[slot] ? owner : NONE;
    }

    /** Slots that changed hands against the table this one was built from (both families). */
    public int movedSlots() {
        return movedSlots;
    }

    /** Slots that name a previous owner still named at {@code nowMillis}, per entry (for `stat`; allocates). */
    public int[] chainedSlots(final long nowMillis) {
        final int[] out = new int[names.length];
        for (int s = 0; s < previousV4.length; s++) {
            if (previousV4[s] != NONE && nowMillis < previousUntilV4[s]) {
                out[previousV4[s]]++;
            }
        }
        for (int s = 0; s < previousV6.length; s++) {
            if (previousV6[s] != NONE && nowMillis < previousUntilV6[s]) {
                out[previousV6[s]]++;
            }
        }
        return out;
    }

    /** Backends that own slots: active and healthy. */
    public int members() {
        int count = 0;
        for (final boolean m : member) {
            count += m ? 1 : 0;
        }
        return count;
    }

    public boolean isMember(final int backend) {
        return member[backend];
    }

    public boolean isDraining(final int backend) {
        return draining[backend];
    }

    /** Every configured backend (members and the others). */
    public int size() {
        return v6.length;
    }

    /** Whether no backend owns a slot: every packet to the backends is dropped ({@code no-backend}). */
    public boolean isEmpty() {
        return maglevV4.length == 0 && maglevV6.length == 0;
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
