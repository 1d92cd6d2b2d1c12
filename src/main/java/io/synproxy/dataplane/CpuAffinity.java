package io.synproxy.dataplane;

import io.synproxy.config.Dataplane;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.stream.Stream;

/**
 * Keeps every thread but the workers off the workers' cores: before any worker starts, each thread of the process
 * (the JVM's own, GC and JIT included) gets the online cores less the workers' as its affinity, and threads started
 * later (metrics, health checks, the host agent) inherit it. Each worker then pins itself to its own core. A worker
 * core thus runs its worker alone, whatever the metrics server or a health check does.
 */
final class CpuAffinity {
    private static final MethodHandle SCHED_SETAFFINITY = Linker.nativeLinker().downcallHandle(
        Linker.nativeLinker().defaultLookup().find("sched_setaffinity").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
        Linker.Option.captureCallState("errno"));

    private CpuAffinity() {
    }

    /**
     * Restricts the process's threads to the cores no worker is pinned to (if any are left; else says so). Returns
     * the cores they may use after the data plane closes ({@link #restore}), or null when nothing was changed.
     */
    static BitSet keepOffWorkerCores(final Dataplane dp, final PrintStream log) {
        final BitSet allowed = Dataplane.onlineCores();
        final BitSet all = (BitSet) allowed.clone();
        for (final Dataplane.Worker w : dp.workers()) {
            if (w.core() >= 0) {
                allowed.clear(w.core());
            }
        }
        if (allowed.isEmpty()) {
            log.println("affinity: every online core runs a worker; other threads share them");
            return null;
        }
        final int failed = apply(allowed);
        log.println("affinity: threads other than workers run on cores " + allowed.toString().replaceAll("[{}]", "")
            + (failed > 0 ? " (" + failed + " thread(s) could not be moved)" : ""));
        return all;
    }

    /** Every thread of the process may run on {@code cores} again (the data plane closed; tests start others). */
    static void restore(final BitSet cores) {
        if (cores != null) {
            apply(cores);
        }
    }

    /** Sets every thread's affinity to {@code allowed}; returns how many could not be set. */
    private static int apply(final BitSet allowed) {
        final int[] failed = {0};
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task")); Arena arena = Arena.ofConfined()) {
            final long[] words = allowed.toLongArray();
            final MemorySegment mask = arena.allocate(Math.max(128, words.length * 8L), 8);
            for (int i = 0; i < words.length; i++) {
                mask.setAtIndex(ValueLayout.JAVA_LONG, i, words[i]);
            }
            final MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            tasks.forEach(task -> {
                try {
                    final int rc = (int) SCHED_SETAFFINITY.invokeExact(state,
                        Integer.parseInt(task.getFileName().toString()), mask.byteSize(), mask);
                    if (rc != 0) {
                        failed[0]++;
                    }
                } catch (final Throwable e) {
                    failed[0]++;
                }
            });
        } catch (final IOException e) {
            return -1;
        }
        return failed[0];
    }
}
