package io.synproxy.dataplane;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * iproute2's {@code ip}, run off the data plane's threads: how the node configures its host interface, reads the
 * kernel's neighbour table and routes, and installs the routes its BGP daemon announces. A failure carries iproute2's
 * own message.
 */
final class IpCommand {
    record Result(int status, String out, String err) {
        boolean ok() {
            return status == 0;
        }
    }

    private IpCommand() {
    }

    static Result run(final String... args) {
        final List<String> command = new ArrayList<>(args.length + 1);
        command.add("ip");
        command.addAll(List.of(args));
        try {
            final Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(
                new java.io.File("/dev/null"))).start();
            // Small outputs (a neighbour table, a route): read to the end, then wait.
            final byte[] out = process.getInputStream().readAllBytes();
            final byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(-1, "", "timed out");
            }
            return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8).strip());
        } catch (final IOException e) {
            return new Result(-1, "", "cannot run ip (iproute2): " + e.getMessage());
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted");
        }
    }

    /** Runs and throws with iproute2's message if it fails (for the set-up, where a failure stops the start). */
    static String require(final String what, final String... args) {
        final Result result = run(args);
        if (!result.ok()) {
            throw new DpdkException(what + ": `ip " + String.join(" ", args) + "` failed: " + result.err());
        }
        return result.out();
    }
}
