package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.ProxyKeys;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Validate a configuration file and its key files, and print the effective configuration.")
final class CheckCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "The configuration file (TOML).")
    Path config;

    @Override
    public Integer call() {
        try {
            final ProxyConfig loaded = ProxyConfig.load(config);
            ProxyKeys.load(loaded);
            System.out.print(loaded.describe());
            System.out.println("ok");
            return 0;
        } catch (final ConfigException | IOException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
    }
}
