package io.synproxy.cli;

import io.synproxy.config.IpAddress;
import io.synproxy.config.ProxyConfig;
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

    @Option(names = {"-o", "--out"}, required = true, description = "File to create (never overwritten).")
    Path out;

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
            MasterSecret.write(out, BackendKeys.derive(ProxyKeys.load(loaded).authKey(), parsed));
            System.out.println("wrote " + out);
            return 0;
        } catch (final Exception e) {
            System.err.println("synproxy backend-key: " + e.getMessage());
            return 1;
        }
    }
}
