package io.synproxy.cli;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.KeyFile;
import io.synproxy.cookie.MasterSecret;
import io.synproxy.engine.BackendKeys;
import io.synproxy.engine.ProxyKeys;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "backend-key", mixinStandardHelpOptions = true,
    description = {"Write one backend's own authentication key (hex, mode 0600), derived from the configuration's "
        + "encap.auth_key_file and the backend's address: give it to that backend (scripts/backend.sh attach "
        + "--backend-key FILE), so no backend holds a key that could forge packets for another."})
final class BackendKeyCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "Configuration file.")
    Path config;

    @Option(names = "--address", required = true, description = "The backend's address, as in its [[backend]].")
    String address;

    @Option(names = {"-o", "--out"}, required = true, description = "File to create (never overwritten without "
        + "--replace).")
    Path out;

    @Option(names = "--replace", description = "Replace --out atomically (a key rotation's step on a backend).")
    boolean replace;

    @Override
    public Integer call() {
        try {
            final ProxyConfig loaded = ProxyConfig.load(config);
            final IpAddress parsed = IpAddress.parse(address);
            if (parsed == null || loaded.backends().stream().noneMatch(b -> b.address().equals(parsed))) {
                System.err.println("synproxy backend-key: --address '" + address + "' is not allowed; allowed: the "
                    + "address of a [[backend]] in " + config);
                return 2;
            }
            final ProxyKeys keys = ProxyKeys.load(loaded);
            final byte[] issue = BackendKeys.derive(keys.authKey(), parsed);
            if (keys.authAccept() == null && !replace) {
                MasterSecret.write(out, issue);
            } else {
                // During a rotation the backend accepts both keys' authenticators: both derived keys, one file.
                final KeyFile both = new KeyFile(issue, keys.authAccept() == null ? null
                    : BackendKeys.derive(keys.authAccept(), parsed), null);
                if (replace) {
                    both.replace(out);
                } else {
                    MasterSecret.writeText(out, both.format());
                }
            }
            System.out.println("wrote " + out);
            return 0;
        } catch (final Exception e) {
            System.err.println("synproxy backend-key: " + e.getMessage());
            return 1;
        }
    }
}
