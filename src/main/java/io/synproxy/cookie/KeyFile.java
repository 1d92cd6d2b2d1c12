package io.synproxy.cookie;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;

/**
 * A key file's contents: the key in use, and during a rotation one more that is also accepted.
 *
 * <pre>
 *   # comments and blank lines are ignored
 *   issue  HEX     exactly one: the key cookies (or authenticators) are made with
 *   accept HEX     at most one: also accepted, the previous or the next key (a rotation's overlap)
 *   flow   HEX     cookie secret only: the flow hash's seed (16 bytes), pinned so a rotation moves no flow
 * </pre>
 *
 * A file of one bare hex line (what {@code synproxy keygen} writes) is that one key, issued. A rotation across a
 * fleet is three reloads on every node ({@code synproxy key-rotate}): {@code add} (the new key accepted), then
 * {@code promote} (issued, the old one accepted), then {@code retire} (the old one gone); every node accepts both
 * keys from the moment any node issues the new one, so no handshake fails.
 *
 * @param issue  the key in use
 * @param accept also accepted, or null
 * @param flow   the pinned flow hash seed, or null (derived from {@code issue})
 */
public record KeyFile(byte[] issue, byte[] accept, byte[] flow) {
    public static final int FLOW_SEED_BYTES = 16;

    /** Reads and checks {@code file} (mode, format); every failure names the file, the line and what is allowed. */
    public static KeyFile read(final Path file) throws IOException {
        final String text = MasterSecret.readText(file);
        final String[] lines = text.split("\n", -1);
        byte[] issue = null;
        byte[] accept = null;
        byte[] flow = null;
        int keyLines = 0;
        for (int n = 0; n < lines.length; n++) {
            final int hash = lines[n].indexOf('#');
            final String line = (hash >= 0 ? lines[n].substring(0, hash) : lines[n]).strip();
            if (line.isEmpty()) {
                continue;
            }
            keyLines++;
            final String[] words = line.split("\\s+");
            final String where = file + " line " + (n + 1) + ": ";
            if (words.length == 1) {
                if (issue != null || keyLines > 1) {
                    throw new IOException(where + "a bare key is allowed only as the file's one line; allowed: "
                        + "\"issue HEX\", \"accept HEX\", \"flow HEX\"");
                }
                issue = hex(where, words[0], MasterSecret.MIN_BYTES);
                continue;
            }
            if (words.length != 2) {
                throw new IOException(where + "'" + line + "' is not allowed; allowed: \"issue HEX\", \"accept HEX\" "
                    + "or \"flow HEX\"");
            }
            switch (words[0]) {
                case "issue" -> {
                    if (issue != null) {
                        throw new IOException(where + "a second key to issue with; allowed: exactly one issue line");
                    }
                    issue = hex(where, words[1], MasterSecret.MIN_BYTES);
                }
                case "accept" -> {
                    if (accept != null) {
                        throw new IOException(where + "a second accepted key; allowed: at most one accept line");
                    }
                    accept = hex(where, words[1], MasterSecret.MIN_BYTES);
                }
                case "flow" -> {
                    if (flow != null) {
                        throw new IOException(where + "a second flow line; allowed: at most one");
                    }
                    flow = hex(where, words[1], FLOW_SEED_BYTES);
                    if (flow.length != FLOW_SEED_BYTES) {
                        throw new IOException(where + "the flow seed has " + flow.length + " bytes; allowed: exactly "
                            + FLOW_SEED_BYTES + " (32 hex digits)");
                    }
                }
                default -> throw new IOException(where + "'" + words[0] + "' is not allowed; allowed: issue, accept, "
                    + "flow");
            }
        }
        if (issue == null) {
            throw new IOException(file + ": no key to issue with; allowed: one line of hex (a key made by `synproxy "
                + "keygen`) or an \"issue HEX\" line");
        }
        if (accept != null && java.security.MessageDigest.isEqual(issue, accept)) {
            throw new IOException(file + ": the accepted key is the issued one; allowed: two different keys");
        }
        return new KeyFile(issue, accept, flow);
    }

    private static byte[] hex(final String where, final String text, final int minBytes) throws IOException {
        if (text.length() % 2 != 0 || !text.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IOException(where + "a key must be hex digits only (an even number of them)");
        }
        final byte[] key = HexFormat.of().parseHex(text);
        if (key.length < minBytes) {
            throw new IOException(where + "key has " + key.length * 8 + " bits; at least " + minBytes * 8
                + " are needed");
        }
        return key;
    }

    /** The file's text. */
    public String format() {
        final HexFormat hex = HexFormat.of();
        final StringBuilder out = new StringBuilder("# synproxy key file (see `synproxy key-rotate --help`)\n");
        out.append("issue ").append(hex.formatHex(issue)).append('\n');
        if (accept != null) {
            out.append("accept ").append(hex.formatHex(accept)).append('\n');
        }
        if (flow != null) {
            out.append("flow ").append(hex.formatHex(flow)).append('\n');
        }
        return out.toString();
    }

    /**
     * Replaces {@code file} with this content, atomically: written to a new file beside it (mode 0600, created
     * exclusively), then renamed over it. A reader sees the old file or the new one, never half of one.
     */
    public void replace(final Path file) throws IOException {
        final Path next = file.resolveSibling(file.getFileName() + ".next");
        Files.deleteIfExists(next);
        MasterSecret.writeText(next, format());
        Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The flow hash seed in force: the pinned one, else the one derived from the issued key. */
    public byte[] flowSeed() {
        return flow != null ? flow.clone() : deriveFlowSeed(issue);
    }

    /** The flow hash seed a node derives from a cookie secret (what {@code flow} pins). */
    public static byte[] deriveFlowSeed(final byte[] secret) {
        return SaltSchedule.derive(secret, "synproxy flow hash keys v2", FLOW_SEED_BYTES);
    }

    @Override
    public String toString() {
        return "KeyFile[issue " + SaltSchedule.fingerprint(issue) + (accept != null ? ", accept "
            + SaltSchedule.fingerprint(accept) : "") + (flow != null ? ", flow pinned" : "") + "]";
    }
}
