package io.synproxy.cli;

import io.synproxy.cookie.MasterSecret;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "keygen", mixinStandardHelpOptions = true,
    description = {"Write a new random 256-bit key (hex, mode 0600): the cookie master secret, shared by every "
        + "proxy node, or the proxy-backend authentication key, shared with the backends."})
final class KeygenCommand implements Callable<Integer> {
    @Option(names = {"-o", "--out"}, required = true, description = "File to create (never overwritten).")
    Path out;

    @Override
    public Integer call() {
        try {
            MasterSecret.generate(out);
            System.out.println("wrote " + out);
            return 0;
        } catch (final Exception e) {
            System.err.println("synproxy keygen: " + e.getMessage());
            return 1;
        }
    }
}
