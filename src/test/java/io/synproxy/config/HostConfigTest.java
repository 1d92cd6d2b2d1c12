package io.synproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet's keys: a port's host interface, [host], [announce], next hops by address. */
class HostConfigTest {
    private static final String NODE = TestSupport.BASE_CONFIG.replace("next_hop_mac = \"02:00:00:00:00:fe\"\n", "")
        + """

        [dataplane]
        idle = "backoff"
        drain_seconds = 7

        [[port]]
        name = "edge"
        device = "net_af_packet0,iface=p0"
        host_interface = "spx0"
        host_addresses = ["10.1.1.2/24", "fd00:1::2/64"]

        [host]
        control_peers = ["10.1.1.1", "fd00:1::1"]
        gateway_v4 = "10.1.1.1"

        [[worker]]
        port = "edge"
        core = 0
        """;

    @TempDir
    Path dir;

    private ProxyConfig load(final String toml) throws ConfigException {
        return ProxyConfig.load(TestSupport.writeConfig(dir, toml));
    }

    private String refusal(final String toml) {
        final String message = assertThrows(ConfigException.class, () -> load(toml)).getMessage();
        return message.substring(message.indexOf("synproxy.toml: ") + "synproxy.toml: ".length());
    }

    @Test
    void aNodeWithoutAnyMacTakesItsNextHopsFromTheHostsRoutes() throws ConfigException {
        final ProxyConfig config = load(NODE);
        final Dataplane dp = config.dataplane();
        assertEquals("spx0", dp.port("edge").hostInterface());
        assertEquals("[10.1.1.2/24, fd00:1:0:0:0:0:0:2/64]", dp.port("edge").hostAddresses().toString());
        assertEquals(Dataplane.BACKOFF, dp.idle());
        assertEquals(7, dp.drainSeconds());
        assertEquals(2, dp.host().controlPeers().size());
        assertEquals(100, dp.host().announceTable(), "announced in table 100 by default");
        assertEquals("edge", dp.host().announcePort());
        assertEquals(Host.DEFAULT_RATE_PPS, dp.host().ratePps());
        assertTrue(config.backends().stream().allMatch(b -> b.resolved() && b.nextHop() == null));
        assertNull(dp.host().gatewayV6());
    }

    @Test
    void nextHopsByAddressPerBackendOrForAll() throws ConfigException {
        final ProxyConfig config = load(TestSupport.BASE_CONFIG.replace("next_hop_mac = \"02:00:00:00:00:fe\"",
            "next_hop = \"203.0.113.254\"").replace("address = \"203.0.113.12\"",
            "address = \"203.0.113.12\"\nnext_hop = \"203.0.113.253\""));
        assertEquals(List.of("203.0.113.254", "203.0.113.253"), config.backends().stream()
            .map(b -> b.nextHop().text()).toList());
    }

    @Test
    void badHostKeysAreRefusedNamingTheKeyAndWhatIsAllowed() {
        assertEquals("port[0].host_addresses: '10.1.1.2' is not allowed; allowed: a unicast address with its prefix "
            + "length, e.g. \"10.1.0.2/24\" or \"fd01::2/64\"", refusal(NODE.replace("\"10.1.1.2/24\"",
            "\"10.1.1.2\"")));
        assertEquals("port[0].host_interface: 'spx0 with a long name' is not allowed; allowed: a Linux interface name "
            + "of 1 to 15 letters, digits, '-', '_' or '.', used by one port only", refusal(NODE.replace(
            "host_interface = \"spx0\"", "host_interface = \"spx0 with a long name\"")));
        assertEquals("host.other: 'maybe' is not allowed; allowed: \"drop\" (the default: traffic for neither a VIP "
            + "nor a host address is dropped and counted) or \"pass\" (the kernel gets it)", refusal(NODE.replace(
            "[host]\n", "[host]\nother = \"maybe\"\n")));
        assertEquals("announce.table: 254 is the kernel's main or local table; allowed: 0 (no announcement) or a "
            + "table of its own, e.g. 100, that the BGP daemon learns from", refusal(NODE + "\n[announce]\ntable = 254\n"));
        assertEquals("dataplane.idle: 'sleepy' is not allowed; allowed: \"busy-spin\" or \"backoff\"",
            refusal(NODE.replace("idle = \"backoff\"", "idle = \"sleepy\"")));
        assertEquals("host.gateway_v4: 'fd00::1' is not allowed; allowed: a literal IPv4 address",
            refusal(NODE.replace("gateway_v4 = \"10.1.1.1\"", "gateway_v4 = \"fd00::1\"")));
        assertTrue(refusal(NODE.replace("host_interface = \"spx0\"\n", "").replace(
            "host_addresses = [\"10.1.1.2/24\", \"fd00:1::2/64\"]\n", "")).startsWith("host: is set but no [[port]] "
            + "has a host_interface"));
        assertEquals("encap.next_hop: is set together with encap.next_hop_mac; allowed: one of them (a next hop by "
            + "address, resolved while running, or a static MAC)", refusal(TestSupport.BASE_CONFIG.replace(
            "next_hop_mac = \"02:00:00:00:00:fe\"", "next_hop_mac = \"02:00:00:00:00:fe\"\nnext_hop = \"10.0.0.1\"")));
    }
}
