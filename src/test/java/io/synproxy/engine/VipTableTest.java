package io.synproxy.engine;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lookups, and the one-entry cache of the last IPv4 hit never answering for a pair it does not hold. */
class VipTableTest {
    private static int v4(final String text) {
        return IpAddress.parse(text).v4();
    }

    @Test
    void theLastHitCacheAnswersOnlyForItsOwnPair() {
        final VipTable table = new VipTable(List.of(
            new ProxyConfig.Vip(IpAddress.parse("198.51.100.10"), new int[] {80, 443}),
            new ProxyConfig.Vip(IpAddress.parse("198.51.100.11"), new int[] {80})), List.of());
        // Before any hit: the unset cache must not match the all-zero pair.
        assertFalse(table.containsV4(0, 0));
        assertTrue(table.containsV4(v4("198.51.100.10"), 80));
        assertTrue(table.containsV4(v4("198.51.100.10"), 80));
        assertFalse(table.containsV4(v4("198.51.100.10"), 81));
        assertFalse(table.containsV4(v4("198.51.100.12"), 80));
        assertTrue(table.containsV4(v4("198.51.100.11"), 80));
        assertTrue(table.containsV4(v4("198.51.100.10"), 443));
        assertFalse(table.containsV4(v4("198.51.100.11"), 443));
        assertFalse(table.containsV4(0, 0));
    }

    @Test
    void portZeroToTheZeroAddressIsNotAVipOfEitherFamily() {
        final VipTable table = new VipTable(List.of(
            new ProxyConfig.Vip(IpAddress.parse("198.51.100.10"), new int[] {80}),
            new ProxyConfig.Vip(IpAddress.parse("2001:db8::10"), new int[] {80})), List.of());
        assertFalse(table.containsV4(0, 0));
        assertFalse(table.containsV6(0, 0, 0));
        final IpAddress v6 = IpAddress.parse("2001:db8::10");
        assertTrue(table.containsV6(v6.high(), v6.low(), 80));
        assertFalse(table.containsV6(v6.high(), v6.low(), 0));
    }
}
