package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.KeyFile;
import io.synproxy.cookie.MasterSecret;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "key-rotate", mixinStandardHelpOptions = true,
    description = {"One step of a key rotation on the key file the configuration names (cookie: cookie.secret_file; "
        + "auth: encap.auth_key_file). The file is replaced atomically; copy it to every node (and, for auth, "
        + "rekey every backend), then reload each. Steps, each done on every node before the next:",
        "  add      a fresh key, accepted but not yet issued (cookie: the flow hash seed is pinned, so no flow moves)",
        "  promote  the new key issued, the old one accepted",
        "  retire   the old key dropped (cookie: once salt_period_seconds + grace_seconds have passed since the last "
            + "node was promoted; auth: once every proxy issues with the new key)"})
final class KeyRotateCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The configuration file (TOML).")
    Path config;

    @Parameters(index = "0", description = "Which key: cookie or auth.")
    String which;

    @Parameters(index = "1", description = "The step: add, promote or retire.")
    String step;

    @Override
    public Integer call() {
        final Path file;
        try {
            final ProxyConfig loaded = ProxyConfig.load(config);
            file = switch (which) {
                case "cookie" -> loaded.cookie().secretFile();
                case "auth" -> loaded.encap().authKeyFile();
                default -> throw new ConfigException("'" + which + "' is not allowed; allowed: cookie or auth");
            };
        } catch (final ConfigException e) {
            System.err.println("synproxy key-rotate: " + e.getMessage());
            return 2;
        }
        try {
            final KeyFile now = KeyFile.read(file);
            final KeyFile next = switch (step) {
                case "add" -> {
                    if (now.accept() != null) {
                        throw new IllegalStateException(file + " already holds a second key (a rotation is under "
                            + "way); allowed now: promote or retire");
                    }
                    final byte[] fresh = new byte[MasterSecret.GENERATED_BYTES];
                    new SecureRandom().nextBytes(fresh);
                    yield new KeyFile(now.issue(), fresh, which.equals("cookie") ? now.flowSeed() : null);
                }
                case "promote" -> {
                    if (now.accept() == null) {
                        throw new IllegalStateException(file + " holds one key; allowed now: add");
                    }
                    yield new KeyFile(now.accept(), now.issue(), now.flow());
                }
                case "retire" -> {
                    if (now.accept() == null) {
                        throw new IllegalStateException(file + " holds one key; nothing to retire");
                    }
                    yield new KeyFile(now.issue(), null, now.flow());
                }
                default -> throw new IllegalArgumentException("step '" + step + "' is not allowed; allowed: add, "
                    + "promote, retire");
            };
            next.replace(file);
            System.out.println("key-rotate: " + file + ": " + step + " done: " + next);
            return 0;
        } catch (final Exception e) {
            System.err.println("synproxy key-rotate: " + e.getMessage());
            return 1;
        }
    }
}
