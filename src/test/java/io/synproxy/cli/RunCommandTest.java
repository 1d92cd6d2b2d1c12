package io.synproxy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `synproxy run` as its own process (EAL is one per process), watched with `stat`, stopped with SIGTERM. */
class RunCommandTest {
    @TempDir
    Path dir;

    @Test
    void runProxiesUntilSigtermAndStatShowsTheCounters() throws Exception {
        final Path stats = dir.resolve("stats");
        final Path config = TestSupport.writeConfig(dir, TestSupport.BASE_CONFIG + """

            [dataplane]
            eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry", "--file-prefix", "%s"]
            stats_file = "%s"

            [[port]]
            name = "edge"
            device = "net_pcap0,rx_pcap=%s,tx_pcap=%s"

            [[worker]]
            port = "edge"
            core = 0
            """.formatted("sp-run-" + ProcessHandle.current().pid(), stats,
            Path.of("src/test/resources/fixtures/all_inputs.pcap").toAbsolutePath(), dir.resolve("out.pcap")));
        final List<String> command = new ArrayList<>(List.of(
            ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-modules", "jdk.incubator.vector",
            "-Dsynproxy.shim=" + System.getProperty("synproxy.shim"),
            "-cp", System.getProperty("java.class.path"), "io.synproxy.cli.Main", "run", "-c", config.toString()));
        final Process run = new ProcessBuilder(command).redirectErrorStream(true).start();
        final List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(run.getInputStream(),
            StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
                if (line.startsWith("running:")) {
                    break;
                }
            }
            assertTrue(lines.getLast().startsWith("running:"), String.join("\n", lines));
            String shown = "";
            for (int tries = 0; tries < 100 && !shown.contains("syn-ack-sent"); tries++) {
                Thread.sleep(100);
                shown = capture(() -> Main.run("stat", "-f", stats.toString(), "--count", "1"));
            }
            assertTrue(shown.contains("worker-0 rx-frames"), shown);
            assertTrue(shown.matches("(?s).*worker-0 syn-ack-sent +15\\n.*"), shown);
            // SIGTERM, as an operator's `kill` would send (Process.destroy would also close our end of its output).
            run.toHandle().destroy();
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
        }
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        deleteRuntimeDirectory("sp-run-" + ProcessHandle.current().pid());
        assertEquals(0, run.exitValue(), String.join("\n", lines));
        assertTrue(lines.contains("stopped: 31 frames received, 15 SYN-ACKs, 2 encapsulated, 13 dropped"),
            String.join("\n", lines));
    }

    @Test
    void runWithoutADataplaneSectionSaysWhatIsMissing() {
        final Path config = TestSupport.writeConfig(dir, TestSupport.BASE_CONFIG);
        final String err = captureErr(() -> assertEquals(2, Main.run("run", "-c", config.toString())));
        assertTrue(err.contains("[dataplane], [[port]] and [[worker]] are needed to run"), err);
    }

    /** EAL's runtime directory of a prefix, which EAL leaves behind. */
    static void deleteRuntimeDirectory(final String prefix) throws java.io.IOException {
        final Path runtime = Path.of("/var/run/dpdk", prefix);
        if (java.nio.file.Files.exists(runtime)) {
            try (var files = java.nio.file.Files.walk(runtime)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String capture(final java.util.function.IntSupplier command) {
        final PrintStream original = System.out;
        final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, command.getAsInt());
        } finally {
            System.setOut(original);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }

    private static String captureErr(final Runnable command) {
        final PrintStream original = System.err;
        final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            command.run();
        } finally {
            System.setErr(original);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
