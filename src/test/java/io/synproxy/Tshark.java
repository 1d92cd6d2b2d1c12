package io.synproxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs tshark, the independent dissector, over a capture and returns the requested fields of every frame. */
public final class Tshark {
    private Tshark() {
    }

    /** One row per frame, one column per field ("" where a field is absent). Checksums are validated. */
    public static List<String[]> fields(final Path pcap, final String... fields) throws IOException,
        InterruptedException {
        final List<String> command = new ArrayList<>(List.of("tshark", "-n", "-r", pcap.toString(),
            "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"));
        for (final String field : fields) {
            command.add("-e");
            command.add(field);
        }
        final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("tshark failed on " + pcap + " (is the tshark package installed? "
                + "scripts/setup.sh installs it)");
        }
        final List<String[]> rows = new ArrayList<>();
        for (final String line : out.split("\n")) {
            if (!line.isEmpty()) {
                rows.add(line.split("\\|", -1));
            }
        }
        return rows;
    }
}
