package io.synproxy.cli;

import io.synproxy.config.ConfigException;
import io.synproxy.config.ProxyConfig;
import io.synproxy.dataplane.StatsFile;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.agrona.concurrent.status.CountersReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "stat", mixinStandardHelpOptions = true,
    description = {"Print the live per-worker counters of a running proxy, and their totals, from its counters "
        + "file (in the style of Aeron's AeronStat)."})
final class StatCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, description = "The configuration: its dataplane.stats_file is read.")
    Path config;

    @Option(names = {"-f", "--file"}, description = "The counters file (instead of --config).")
    Path file;

    @Option(names = "--interval", defaultValue = "1", description = "Seconds between prints.")
    long interval;

    @Option(names = "--count", defaultValue = "0", description = "Prints before exiting (0: until Ctrl-C).")
    long count;

    @Override
    public Integer call() throws InterruptedException {
        final Path path;
        try {
            path = file != null ? file : statsFileOf(config);
        } catch (final ConfigException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 2;
        }
        final CountersReader reader;
        try {
            reader = StatsFile.open(path);
        } catch (final IllegalStateException e) {
            System.err.println("synproxy: " + e.getMessage());
            return 1;
        }
        for (long n = 0; count == 0 || n < count; n++) {
            if (n > 0) {
                Thread.sleep(interval * 1000);
            }
            print(reader, path);
        }
        return 0;
    }

    static Path statsFileOf(final Path config) throws ConfigException {
        if (config == null) {
            throw new ConfigException("give --config FILE or --file COUNTERS");
        }
        final ProxyConfig loaded = ProxyConfig.load(config);
        if (loaded.dataplane() == null) {
            throw new ConfigException(config + ": no [dataplane] section, so no counters file");
        }
        return loaded.dataplane().statsFile();
    }

    private static void print(final CountersReader reader, final Path path) {
        final Map<String, Long> totals = new TreeMap<>();
        final StringBuilder out = new StringBuilder();
        out.append(java.time.LocalTime.now().withNano(0)).append("  ").append(path).append(" (writer pid ")
            .append(StatsFile.writerPid(path)).append(")\n");
        final StringBuilder load = new StringBuilder();
        reader.forEach((id, type, key, label) -> {
            final long value = reader.getCounterValue(id);
            final int space = label.indexOf(' ');
            if (label.endsWith(" load-permille")) {
                // A busy-polling core shows 100% in top: this is the share of its time that found frames.
                load.append(String.format("  %-40s %19.1f%%%n", label.substring(0, space) + " load", value / 10.0));
                return;
            }
            if (label.contains(" tx-offload-")) {
                // A port's setting (1 in use, 0 not), not a count: shown at 0 too, and never totalled.
                out.append(String.format("  %-40s %,20d%n", label, value));
                return;
            }
            totals.merge(label.substring(space + 1), value, Long::sum);
            if (value != 0) {
                out.append(String.format("  %-40s %,20d%n", label, value));
            }
        });
        out.append(load);
        out.append("  totals:\n");
        totals.forEach((name, value) -> {
            if (value != 0) {
                out.append(String.format("  %-40s %,20d%n", name, value));
            }
        });
        System.out.print(out);
        System.out.flush();
    }
}
