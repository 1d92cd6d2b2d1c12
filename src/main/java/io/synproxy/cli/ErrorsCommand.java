package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.dataplane.StatsFile;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "errors", mixinStandardHelpOptions = true,
    description = {"Print the distinct errors a proxy recorded in its counters file (as AeronStat's errors view): "
        + "each once, with how often and when first and last it happened. Works while the proxy runs and after it "
        + "stopped (until the next start replaces the file)."})
final class ErrorsCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, description = "The configuration: its dataplane.stats_file is read.")
    Path config;

    @Option(names = {"-f", "--file"}, description = "The counters file (instead of --config).")
    Path file;

    @Override
    public Integer call() {
        final Path path;
        try {
            path = file != null ? file : StatCommand.statsFileOf(config);
        } catch (final ConfigException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
        final StringBuilder out = new StringBuilder();
        final int distinct;
        try {
            distinct = StatsFile.readErrors(path, (count, first, last, encoded) -> out.append("***\n")
                .append(count).append(" observation(s) from ").append(Instant.ofEpochMilli(first)).append(" to ")
                .append(Instant.ofEpochMilli(last)).append(":\n").append(encoded.strip()).append('\n'));
        } catch (final IllegalStateException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 1;
        }
        System.out.print(out);
        System.out.println(distinct + " distinct error(s) in " + path);
        return 0;
    }
}
