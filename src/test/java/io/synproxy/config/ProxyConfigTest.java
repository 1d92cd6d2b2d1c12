package io.synproxy.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.synproxy.TestSupport;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProxyConfigTest {
    @TempDir
    Path dir;

    @Test
    void theBaseConfigurationLoadsWithItsDefaults() throws Exception {
        final ProxyConfig config = ProxyConfig.load(TestSupport.writeConfig(dir, TestSupport.BASE_CONFIG));
        assertEquals(60, config.cookie().saltPeriodSeconds());
        assertArrayEquals(ProxyConfig.DEFAULT_MSS_V4, config.cookie().mssV4());
        assertEquals(dir.resolve("secret.key").toAbsolutePath(), config.cookie().secretFile().toAbsolutePath());
        assertEquals(2, config.vips().size());
        assertEquals(6080, config.encap().port());
        // 1500 - (outer IPv4 20 + UDP 8 + encap 12) - inner IPv4 20 - TCP 20
        assertEquals(1392, config.advertisedMss(false), "1500 - 20 - 8 - 40 (the chained header) - 20 - 20");
        assertEquals(1372, config.advertisedMss(true));
        assertEquals(65537, config.maglevTableSize());
    }

    @Test
    void theShippedReferenceConfigurationIsValid() throws Exception {
        final ProxyConfig config = ProxyConfig.load(Path.of("config/synproxy.toml"));
        assertEquals(2, config.backends().size());
    }

    static Stream<Arguments> badFiles() {
        final String base = TestSupport.BASE_CONFIG;
        final String dp = base + """

            [dataplane]
            eal_args = ["-l", "0", "--in-memory"]

            [[port]]
            name = "edge"
            device = "0000:01:00.0"
            rx_queues = 2

            [[worker]]
            port = "edge"
            queue = 0
            core = 0
            """;
        return Stream.of(
            Arguments.of(base.replace("salt_period_seconds = 60", "salt_period_seconds = 0"),
                "cookie.salt_period_seconds: 0 is out of range; allowed: an integer from 1 to 86400"),
            Arguments.of(base.replace("grace_seconds = 60", "grace_seconds = 61"),
                "cookie.grace_seconds: 61 is out of range; allowed: an integer from 0 to 60"),
            Arguments.of(base.replace("grace_seconds = 60", "grace_seconds = 0"),
                "cookie.grace_seconds: 0 is below cookie.max_clock_skew_ms (500 ms): a node whose clock runs behind "
                    + "would refuse every handshake that crosses an epoch boundary; allowed: an integer from 1 to 60"),
            Arguments.of(base.replace("grace_seconds = 60", "grace_seconds = 2\nmax_clock_skew_ms = 2500"),
                "cookie.grace_seconds: 2 is below cookie.max_clock_skew_ms (2500 ms): a node whose clock runs behind "
                    + "would refuse every handshake that crosses an epoch boundary; allowed: an integer from 3 to 60"),
            Arguments.of(base.replace("grace_seconds = 60", "max_clock_skew_ms = 30001"),
                "cookie.max_clock_skew_ms: 30001 is out of range; allowed: an integer from 0 to 30000"),
            Arguments.of(base.replace("salt_period_seconds = 60", "salt_period_seconds = \"60s\""),
                "cookie.salt_period_seconds: '\"60s\"' is not an integer; allowed: an integer from 1 to 86400"),
            Arguments.of(base.replace("[cookie]", "[cookie]\nmss_v4 = [536, 1460, 1440, 1500]"),
                "cookie.mss_v4: [536, 1460, 1440, 1500] is not strictly ascending; allowed: 4 ascending MSS values "
                    + "from 536 to 65535"),
            Arguments.of(base.replace("[cookie]", "[cookie]\nmss_v6 = [1000, 1420, 1440, 8940]"),
                "cookie.mss_v6: element 0 '1000' is not allowed; allowed: an array of 4 integers from 1220 to 65535"),
            Arguments.of(base.replace("[cookie]", "[cookie]\nmss_v4 = [536, 1460]"),
                "cookie.mss_v4: '[536,1460]' is not allowed; allowed: an array of 4 integers from 536 to 65535"),
            Arguments.of(base.replace("secret_file = \"secret.key\"\n", ""),
                "cookie.secret_file: missing; required: a path to a key file made by `synproxy keygen`"),
            Arguments.of(base.replace("window_scale = 7", "window_scale = 15"),
                "tcp.window_scale: 15 is out of range; allowed: an integer from 0 to 14"),
            Arguments.of(base.replace("window_scale = 7", "window_scale = 7\nsack = \"yes\""),
                "tcp.sack: '\"yes\"' is not a boolean; allowed: true or false"),
            Arguments.of(base.replace("window_scale = 7", "windowscale = 7"),
                "tcp.windowscale: unknown key; allowed here: ecn, sack, timestamps, window, window_scale, "
                    + "window_scaling"),
            Arguments.of(base + "\n[stats]\npath = \"x\"\n",
                "stats: unknown key; allowed here: announce, backend, cookie, dataplane, encap, health, host, maglev, metrics, port, "
                    + "tcp, vip, worker"),
            Arguments.of(base.replace("address = \"198.51.100.10\"", "address = \"198.51.100.300\""),
                "vip[0].address: '198.51.100.300' is not allowed; allowed: a literal IPv4 or IPv6 address"),
            Arguments.of(base.replace("address = \"198.51.100.10\"", "address = \"example.com\""),
                "vip[0].address: 'example.com' is not allowed; allowed: a literal IPv4 or IPv6 address"),
            Arguments.of(base.replace("address = \"198.51.100.10\"", "address = \"224.0.0.1\""),
                "vip[0].address: '224.0.0.1' is not allowed; allowed: a unicast IPv4 or IPv6 address"),
            Arguments.of(base.replace("ports = [80, 443]", "ports = [80, 0]"),
                "vip[0].ports: element 1 '0' is not allowed; allowed: an array of 1 to 64 integers from 1 to 65535"),
            Arguments.of(base.replace("ports = [80, 443]", "ports = [80, 80]"),
                "vip[0].ports: VIP 198.51.100.10 port 80 is listed twice; allowed: each address and port once"),
            Arguments.of(base.replace("[[vip]]\naddress = \"198.51.100.10\"\nports = [80, 443]\n\n[[vip]]\n"
                    + "address = \"2001:db8:100::10\"\nports = [80]\n", ""),
                "vip: missing; at least one [[vip]] with address and ports is required"),
            Arguments.of(base.replace("source_v4 = \"203.0.113.1\"\n", ""),
                "backend[0].address: '203.0.113.11' is IPv4 but encap.source_v4 is not set; allowed: a backend of "
                    + "a family that has an encapsulation source address"),
            Arguments.of(base.replace("source_v4 = \"203.0.113.1\"", "source_v4 = \"2001:db8::1\""),
                "encap.source_v4: '2001:db8::1' is not allowed; allowed: a literal IPv4 address"),
            Arguments.of(base.replace("source_v6 = \"2001:db8:200::1\"", "source_v6 = \"203.0.113.1\""),
                "encap.source_v6: '203.0.113.1' is not allowed; allowed: a literal IPv6 address"),
            Arguments.of(base.replace("next_hop_mac = \"02:00:00:00:00:fe\"", "next_hop_mac = \"01:00:5e:00:00:01\""),
                "encap.next_hop_mac: '01:00:5e:00:00:01' is a group or zero address; allowed: a unicast MAC "
                    + "address such as 02:00:00:00:00:03"),
            Arguments.of(base.replace("next_hop_mac = \"02:00:00:00:00:fe\"", "next_hop_mac = \"02:00:00:00:fe\""),
                "encap.next_hop_mac: '02:00:00:00:fe' is not allowed; allowed: a unicast MAC address such as "
                    + "02:00:00:00:00:03"),
            Arguments.of(base.replace("next_hop_mac = \"02:00:00:00:00:fe\"\n", ""),
                "backend[0].mac: missing; required unless it has a next_hop, encap.next_hop_mac or encap.next_hop is "
                    + "set, or a [[port]] has a host_interface (the host's route to the backend then decides): a "
                    + "unicast MAC address such as 02:00:00:00:00:03"),
            Arguments.of(base.replace("auth_key_file = \"backend.key\"", "auth_key_file = \"backend.key\"\n"
                    + "port = 70000"),
                "encap.port: 70000 is out of range; allowed: an integer from 1 to 65535"),
            Arguments.of(base.replace("auth_key_file = \"backend.key\"", "auth_key_file = \"backend.key\"\n"
                    + "backend_mtu = 1300"),
                "encap.backend_mtu: 1300 leaves IPv6 clients less than the 1220-byte minimum MSS after "
                    + "encapsulation; allowed: at least 1344"),
            Arguments.of(base.replace("address = \"203.0.113.12\"", "address = \"203.0.113.11\""),
                "backend[1].address: '203.0.113.11' is listed twice; allowed: each backend once"),
            Arguments.of(base + "\n[maglev]\ntable_size = 65536\n",
                "maglev.table_size: 65536 is not allowed; allowed: a prime number at least 100 times the number of "
                    + "backends (200), e.g. 65537 or 655373"),
            Arguments.of(base.replace("[tcp]", "[tcp"),
                "not valid TOML"),
            Arguments.of(dp.replace("core = 0", "core = 4095"),
                "worker[0].core: 4095 is not an online core; allowed: a core that is online on this machine ("),
            Arguments.of(dp.replace("queue = 0", "queue = 2"),
                "worker[0].queue: 2 is out of range; allowed: an integer from 0 to 1"),
            Arguments.of(dp.replace("port = \"edge\"", "port = \"uplink\""),
                "worker[0].port: 'uplink' is not a [[port]] name; allowed: edge"),
            Arguments.of(dp + "\n[[worker]]\nport = \"edge\"\nqueue = 0\ncore = 0\n",
                "worker[1].queue: port 'edge' queue 0 already has a worker; allowed: one worker per queue"),
            Arguments.of(dp + "\n[[worker]]\nport = \"edge\"\nqueue = 1\ncore = 0\n",
                "worker[1].core: 0 is already worker[0]'s; allowed: a core no other worker has"),
            Arguments.of(dp.replace("eal_args = [\"-l\", \"0\", \"--in-memory\"]", "eal_args = \"-l 0\""),
                "dataplane.eal_args: '\"-l 0\"' is not an array of strings; allowed: an array of EAL arguments"),
            Arguments.of(dp.replace("device = \"0000:01:00.0\"", "device = \"net pcap\""),
                "port[0].device: 'net pcap' is not allowed; allowed: a PCI address or virtual device arguments "
                    + "without spaces"),
            Arguments.of(dp.replace("rx_queues = 2", "rx_queues = 2\ntx_checksum_offload = \"on\""),
                "port[0].tx_checksum_offload: 'on' is not allowed; allowed: \"auto\" (the port computes the IPv4 "
                    + "header and TCP checksums of what synproxy sends when it offers to) or \"off\" (every checksum "
                    + "in software)"),
            Arguments.of(dp.replace("rx_queues = 2", "rx_queues = 2\ntx_checksum_offload = false"),
                "port[0].tx_checksum_offload: 'false' is not a string; allowed: \"auto\" or \"off\""),
            Arguments.of(dp.replace("[[worker]]\nport = \"edge\"\nqueue = 0\ncore = 0\n", ""),
                "worker: missing; at least one [[worker]] with port, queue and core is required to run"));
    }

    @ParameterizedTest
    @MethodSource("badFiles")
    void aBadFileIsRefusedNamingFileKeyValueAndWhatIsAllowed(final String toml, final String message) {
        final Path file = TestSupport.writeConfig(dir, toml);
        final ConfigException e = assertThrows(ConfigException.class, () -> ProxyConfig.load(file));
        final String expectedStart = file + ": " + message;
        if (!e.getMessage().startsWith(expectedStart)) {
            assertEquals(expectedStart, e.getMessage());
        }
    }

    @Test
    void aDataplaneSectionLoads() throws Exception {
        final ProxyConfig config = ProxyConfig.load(TestSupport.writeConfig(dir, TestSupport.BASE_CONFIG + """

            [dataplane]
            eal_args = ["-l", "0", "--in-memory"]

            [[port]]
            name = "edge"
            device = "0000:01:00.0"

            [[worker]]
            port = "edge"
            core = 0
            """));
        assertEquals(List.of("-l", "0", "--in-memory"), config.dataplane().ealArgs());
        assertEquals("edge", config.dataplane().workers().getFirst().backendPort());
        assertEquals(true, config.dataplane().ports().getFirst().isPci());
        assertEquals(true, config.dataplane().ports().getFirst().txChecksumOffload(), "\"auto\" by default");
    }

    @Test
    void txChecksumOffloadIsPerPortAndNeedsARestart() throws Exception {
        final String two = TestSupport.BASE_CONFIG + """

            [dataplane]
            eal_args = ["-l", "0", "--in-memory"]

            [[port]]
            name = "edge"
            device = "0000:01:00.0"
            tx_checksum_offload = "off"

            [[port]]
            name = "inside"
            device = "0000:02:00.0"
            tx_checksum_offload = "auto"

            [[worker]]
            port = "edge"
            core = 0
            backend_port = "inside"
            """;
        final ProxyConfig config = ProxyConfig.load(TestSupport.writeConfig(dir, two));
        assertEquals(false, config.dataplane().port("edge").txChecksumOffload());
        assertEquals(true, config.dataplane().port("inside").txChecksumOffload());
        final ProxyConfig flipped = ProxyConfig.load(TestSupport.writeConfig(dir, two.replace("\"off\"", "\"auto\"")));
        assertEquals(List.of("port 'edge' tx_checksum_offload"), RestartCheck.differences(config, flipped),
            "named on its own, and nothing else of the port reported");
        assertEquals(List.of(), RestartCheck.differences(config, ProxyConfig.load(TestSupport.writeConfig(dir, two))));
        final ProxyConfig moved = ProxyConfig.load(TestSupport.writeConfig(dir, two.replace("\"off\"", "\"auto\"")
            .replace("0000:01:00.0", "0000:03:00.0")));
        assertEquals(List.of("port 'edge' tx_checksum_offload", "[[port]]"), RestartCheck.differences(config, moved));
    }

    @Test
    void aMissingFileSaysSo() {
        final ConfigException e = assertThrows(ConfigException.class,
            () -> ProxyConfig.load(dir.resolve("absent.toml")));
        assertEquals(dir.resolve("absent.toml") + ": cannot read the configuration file (NoSuchFileException: "
            + dir.resolve("absent.toml") + ")", e.getMessage());
    }
}
