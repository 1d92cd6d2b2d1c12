package io.synproxy.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.synproxy.bindings.Shim;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.agrona.concurrent.status.CountersReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The counters file handed to DPDK telemetry. Tests run EAL with --no-telemetry, so only the registration is seen
 * here; what dpdk-telemetry.py shows is checked by scripts/ops/telemetry-check.sh.
 */
class TelemetryTest {
    @TempDir
    Path dir;

    @Test
    void theRegionsAreTheCountersBuffers() {
        try (StatsFile stats = StatsFile.create(dir.resolve("stats"), 10)) {
            final StatsFile.Regions r = stats.regions();
            assertEquals(10 * CountersReader.COUNTER_LENGTH, r.valuesLength());
            assertEquals(10 * CountersReader.METADATA_LENGTH, r.metadataLength());
            assertEquals(r.metadataAddress() + r.metadataLength(), r.valuesAddress());
            assertEquals(0, r.metadataAddress() % 64, "the mapping is page-aligned, the header 64 bytes");
        }
    }

    @Test
    void registersUnderNoTelemetryAgainForAnotherFileAndLetsGoOnClose() {
        TestEal.init();
        // A data plane started twice in one process (tests) registers twice: DPDK must not get the commands twice,
        // which the shim sees to; each time the commands follow the newest file.
        for (int i = 0; i < 2; i++) {
            try (StatsFile stats = StatsFile.create(dir.resolve("stats" + i), 10)) {
                stats.newCounter("w0 rx-frames").set(7);
                assertEquals(0, stats.registerTelemetry());
            }
        }
    }

    @Test
    void refusesNoBuffers() {
        final int rc = Shim.telemetryRegister(MemorySegment.NULL, 0, MemorySegment.NULL, 0);
        assertEquals(-22, rc, "-EINVAL");
        assertNotEquals("", Shim.strerror(rc));
    }

    @Test
    void theFilePrefixIsEalsInEitherForm() {
        assertEquals("rte", Telemetry.filePrefix(List.of("-l", "0")));
        assertEquals("spx", Telemetry.filePrefix(List.of("-l", "0", "--file-prefix", "spx", "--no-pci")));
        assertEquals("spx", Telemetry.filePrefix(List.of("--file-prefix=spx")));
    }
}
