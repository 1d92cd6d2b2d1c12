package io.synproxy;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.BackendTable;
import io.synproxy.engine.PacketEngine;
import io.synproxy.engine.ProxyKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A configuration matching the fixtures (VIP 198.51.100.10 and 2001:db8:100::10), with fixed keys. */
public final class TestSupport {
    public static final String SECRET_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    public static final String AUTH_HEX = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
    /** The fixtures' capture time. */
    public static final long FIXTURE_MILLIS = 1_700_000_000_000L;

    public static final String BASE_CONFIG = """
        [cookie]
        secret_file = "secret.key"
        salt_period_seconds = 60
        grace_seconds = 60

        [tcp]
        window_scale = 7

        [[vip]]
        address = "198.51.100.10"
        ports = [80, 443]

        [[vip]]
        address = "2001:db8:100::10"
        ports = [80]

        [encap]
        source_v4 = "203.0.113.1"
        source_v6 = "2001:db8:200::1"
        auth_key_file = "backend.key"
        next_hop_mac = "02:00:00:00:00:fe"

        [[backend]]
        address = "203.0.113.11"

        [[backend]]
        address = "203.0.113.12"
        """;

    private TestSupport() {
    }

    /** Writes {@code toml} and the two fixed key files into {@code dir}; returns the config path. */
    public static Path writeConfig(final Path dir, final String toml) {
        try {
            writeKey(dir.resolve("secret.key"), SECRET_HEX);
            writeKey(dir.resolve("backend.key"), AUTH_HEX);
            final Path config = dir.resolve("synproxy.toml");
            Files.writeString(config, toml);
            return config;
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A key file as `synproxy keygen` leaves it: hex, mode 0600. */
    public static void writeKey(final Path file, final String hex) throws IOException {
        Files.writeString(file, hex + "\n");
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }

    public static ProxyConfig config(final Path dir, final String toml) {
        try {
            return ProxyConfig.load(writeConfig(dir, toml));
        } catch (final ConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ProxyKeys keys(final ProxyConfig config) {
        try {
            return ProxyKeys.load(config);
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An engine with the salts in force at {@code millis}. */
    public static PacketEngine engine(final ProxyConfig config, final long millis) {
        final ProxyKeys keys = keys(config);
        return new PacketEngine(config, keys, keys.saltSchedule(config).snapshotAt(millis), BackendTable.of(config, keys));
    }
}
