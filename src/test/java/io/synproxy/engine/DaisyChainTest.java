package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.SipHash;
import io.synproxy.packet.EncapHeader;
import io.synproxy.packet.FrameBuilder;
import io.synproxy.packet.TcpHeader;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backends that change: previous owners per Maglev slot, and the chained header that names them. */
class DaisyChainTest {
    private static final IpAddress VIP4 = IpAddress.parse("198.51.100.10");
    private static final long T0 = TestSupport.FIXTURE_MILLIS;
    private static final long CHAIN = 600_000;
    private static final long DRAIN = 3_600_000;

    @TempDir
    Path dir;

    private static String backends(final int n, final String drained) {
        final StringBuilder out = new StringBuilder();
        for (int i = 1; i <= n; i++) {
            out.append("\n[[backend]]\naddress = \"203.0.113.1").append(i).append("\"\n");
            if (("203.0.113.1" + i).equals(drained)) {
                out.append("state = \"draining\"\n");
            }
        }
        return out.toString();
    }

    private ProxyConfig config(final int n, final String drained) {
        final String base = TestSupport.BASE_CONFIG.substring(0, TestSupport.BASE_CONFIG.indexOf("[[backend]]"));
        return TestSupport.config(dir, base + backends(n, drained));
    }

    private static BackendTable next(final BackendTable before, final ProxyConfig c, final Set<String> unhealthy,
                                     final long now) {
        return BackendTable.next(before, c.backends(), unhealthy, c.encap(), c.maglevTableSize(),
            TestSupport.keys(c).authKey(), now, CHAIN, DRAIN);
    }

    @Test
    void aSlotThatChangesHandsNamesItsPreviousOwnerUntilItsDeadline() {
        final BackendTable three = next(null, config(3, null), Set.of(), T0);
        final BackendTable four = next(three, config(4, null), Set.of(), T0 + 1000);
        int moved = 0;
        int toNew = 0;
        for (long h = 0; h < 1 << 20; h += 16) {
            final long flow = h * 0x9e3779b97f4a7c15L;
            final String was = three.address(three.lookup(flow, false));
            final String now = four.address(four.lookup(flow, false));
            final int previous = four.previousOwner(flow, false, T0 + 2000);
            if (was.equals(now)) {
                assertEquals(BackendTable.NONE, previous, "a flow that stayed names no one");
            } else {
                moved++;
                toNew += now.equals("203.0.113.14") ? 1 : 0;
                assertEquals(was, four.address(previous), "the flow's previous owner");
                assertEquals(BackendTable.NONE, four.previousOwner(flow, false, T0 + 1000 + CHAIN),
                    "named for chain_seconds only");
            }
        }
        final double share = moved / (double) (1 << 16);
        assertTrue(share > 0.2 && share < 0.3, "about a quarter moves: " + share);
        // Maglev is nearly minimal: a few flows move between the old backends too, and they are chained the same way.
        assertTrue(toNew > 0.95 * moved, "to the new backend: " + toNew + " of " + moved);
        assertEquals(moved > 0, four.movedSlots() > 0);
        // A later change that leaves a slot alone keeps its previous owner; removing that owner forgets it.
        final BackendTable again = next(four, config(4, null), Set.of(), T0 + 5000);
        final BackendTable removed = next(four, config(3, null), Set.of(), T0 + 6000);
        for (long h = 0; h < 1 << 16; h += 16) {
            final long flow = h * 0x9e3779b97f4a7c15L;
            assertEquals(four.previousOwner(flow, false, T0 + 7000) == BackendTable.NONE ? "none"
                : four.address(four.previousOwner(flow, false, T0 + 7000)),
                again.previousOwner(flow, false, T0 + 7000) == BackendTable.NONE ? "none"
                : again.address(again.previousOwner(flow, false, T0 + 7000)));
            final int p = removed.previousOwner(flow, false, T0 + 7000);
            assertTrue(p == BackendTable.NONE || !removed.address(p).equals("203.0.113.14"));
        }
    }

    @Test
    void aDrainingBackendOwnsNothingAndStaysTheNamedOwnerOfItsFlowsForTheDrainLimit() {
        final BackendTable three = next(null, config(3, null), Set.of(), T0);
        final BackendTable drained = next(three, config(3, "203.0.113.12"), Set.of(), T0 + 1000);
        assertEquals(2, drained.members());
        int handedBack = 0;
        for (long h = 0; h < 1 << 20; h += 16) {
            final long flow = h * 0x9e3779b97f4a7c15L;
            assertTrue(!drained.address(drained.lookup(flow, false)).equals("203.0.113.12"), "no new connections");
            if (three.address(three.lookup(flow, false)).equals("203.0.113.12")) {
                final int previous = drained.previousOwner(flow, false, T0 + 1000 + CHAIN + 1);
                assertEquals("203.0.113.12", drained.address(previous), "past chain_seconds, within the drain limit");
                assertEquals(BackendTable.NONE, drained.previousOwner(flow, false, T0 + 1000 + DRAIN));
                handedBack++;
            }
        }
        assertTrue(handedBack > 15_000, "its third of the flows: " + handedBack);
        // Failing a health check is a change too: its flows move, named after it.
        final BackendTable failed = next(three, config(3, null), Set.of("203.0.113.13"), T0 + 1000);
        assertEquals(2, failed.members());
        assertTrue(Arrays.stream(failed.chainedSlots(T0 + 2000)).sum() > 20_000);
    }

    @Test
    void anUnmarkedPacketOfAMovedFlowCarriesTheChainedHeaderBothBackendsCanVerify() {
        final ProxyConfig c3 = config(3, null);
        final ProxyConfig c4 = config(4, null);
        final PacketEngine engine = TestSupport.engine(c4, T0);
        final BackendTable three = next(null, c3, Set.of(), T0);
        final BackendTable four = next(three, c4, Set.of(), T0);
        engine.applyBackends(four);
        final byte[] authKey = TestSupport.keys(c4).authKey();
        int chained = 0;
        for (int port = 40000; port < 40200; port++) {
            final IpAddress client = IpAddress.parse("192.0.2." + (port % 200 + 1));
            final byte[] data = FrameBuilder.tcp(client, VIP4, port, 80, 1000, 2000, TcpHeader.ACK | TcpHeader.PSH,
                new byte[0], 64);
            final byte[] out;
            try (TestBurst burst = new TestBurst(List.of(data)).run(engine, T0 + 10)) {
                assertEquals(Verdict.TX_BACKEND, burst.verdict(0));
                out = burst.output(0);
            }
            final ByteBuffer b = ByteBuffer.wrap(out);
            final String owner = (out[30] & 0xff) + "." + (out[31] & 0xff) + "." + (out[32] & 0xff) + "."
                + (out[33] & 0xff);
            final int header = 14 + 20 + 8;
            if ((out[header] & 0xff) == EncapHeader.FIRST_BYTE) {
                assertEquals(14 + 20 + 8 + 16 + data.length - 14, out.length);
                continue;
            }
            chained++;
            assertEquals(EncapHeader.FIRST_BYTE_CHAINED, out[header] & 0xff);
            assertEquals(0x8000, b.getShort(header + 6) & 0xffff);
            assertEquals(14 + 20 + 8 + 40 + data.length - 14, out.length, "40-byte header");
            assertEquals(out.length - 14, b.getShort(14 + 2) & 0xffff, "outer IPv4 total length");
            assertEquals(out.length - 14 - 20, b.getShort(14 + 20 + 4) & 0xffff, "UDP length");
            final byte[] previous = Arrays.copyOfRange(out, header + 24, header + 40);
            assertEquals(0xffff, ByteBuffer.wrap(previous).getShort(10) & 0xffff, "IPv4-mapped");
            final IpAddress was = IpAddress.parse((previous[12] & 0xff) + "." + (previous[13] & 0xff) + "."
                + (previous[14] & 0xff) + "." + (previous[15] & 0xff));
            final int inner = header + 40;
            final byte[] addresses = Arrays.copyOfRange(out, inner + 12, inner + 20);
            final byte[] l4 = Arrays.copyOfRange(out, inner + 20, inner + 32);
            // A1: the new owner's key over words 0-1, the previous owner, the inner addresses, 12 L4 bytes.
            final byte[] a1 = concat(Arrays.copyOfRange(out, header, header + 8), previous, addresses, l4);
            assertEquals(sip(authKey, IpAddress.parse(owner), a1), b.getLong(header + 8), "A1");
            // A2: the previous owner's key over the plain header it will receive.
            final byte[] plain = {3, 4, 0x10, 0, 0, 0, 0, 0};
            assertEquals(sip(authKey, was, concat(plain, addresses, l4)), b.getLong(header + 16), "A2");
            assertTrue(!was.text().equals(owner));
            assertEquals(three.address(three.lookup(flowOf(TestSupport.keys(c4), data), false)), was.text(),
                "the old owner");
        }
        assertTrue(chained > 20, "a quarter of 200 flows: " + chained);
        assertEquals(chained, engine.counters().get(EngineCounters.CHAINED));
    }

    private static long flowOf(final ProxyKeys keys, final byte[] frame) {
        final ByteBuffer b = ByteBuffer.wrap(frame);
        final long addressesBe = ((long) b.getInt(14 + 12) << 32) | (b.getInt(14 + 16) & 0xffffffffL);
        return keys.flowHash().v4(Long.reverseBytes(addressesBe), Integer.reverseBytes(b.getInt(14 + 20)));
    }

    private static long sip(final byte[] authKey, final IpAddress backend, final byte[] message) {
        final byte[] key = BackendKeys.derive(authKey, backend);
        return SipHash.hash(SipHash.keyWord(key, 0), SipHash.keyWord(key, 1), message, 0, message.length);
    }

    private static byte[] concat(final byte[]... parts) {
        final ByteBuffer out = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (final byte[] p : parts) {
            out.put(p);
        }
        return out.array();
    }
}
