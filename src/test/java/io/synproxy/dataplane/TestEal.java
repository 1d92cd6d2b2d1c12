package io.synproxy.dataplane;

import java.util.List;

/** EAL for tests: once per JVM, no hugepages, no PCI devices, a private runtime directory. */
final class TestEal {
    private TestEal() {
    }

    private static final String PREFIX = "synproxy-test-" + ProcessHandle.current().pid();

    private static boolean done;

    static synchronized void init() {
        if (done) {
            return;
        }
        done = true;
        Dpdk.initEal(List.of("-l", "0", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
            "--file-prefix", PREFIX, "--log-level", "lib.eal:warning"));
        // EAL leaves its runtime directory behind; tests clean up after themselves.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (var files = java.nio.file.Files.walk(java.nio.file.Path.of("/var/run/dpdk", PREFIX))) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (final java.io.IOException | java.io.UncheckedIOException e) {
                // Nothing to remove.
            }
        }));
    }
}
