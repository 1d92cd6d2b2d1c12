package io.synproxy.cookie;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Key files: the cookie master secret and the proxy-backend authentication key. Both are lowercase hex on one line
 * (a trailing newline and surrounding blanks are ignored), at least 128 bits. {@code keygen} writes 256 bits, mode 0600.
 */
public final class MasterSecret {
    public static final int MIN_BYTES = 16;
    public static final int GENERATED_BYTES = 32;

    private MasterSecret() {
    }

    /** Reads a key file; the message of any failure names the file and what is wrong with it. */
    public static byte[] read(final Path file) throws IOException {
        final String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (final IOException e) {
            throw new IOException(file + ": cannot read key file (" + e.getClass().getSimpleName() + ": "
                + e.getMessage() + "); make one with `synproxy keygen --out " + file + "`", e);
        }
        if (text.length() % 2 != 0 || !text.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IOException(file + ": a key file must hold only hex digits (an even number of them)");
        }
        final byte[] key = HexFormat.of().parseHex(text);
        if (key.length < MIN_BYTES) {
            throw new IOException(file + ": key has " + key.length * 8 + " bits; at least " + MIN_BYTES * 8
                + " are needed");
        }
        return key;
    }

    /** Writes a fresh random key; refuses to overwrite an existing file. */
    public static void generate(final Path file) throws IOException {
        final byte[] key = new byte[GENERATED_BYTES];
        new SecureRandom().nextBytes(key);
        if (Files.exists(file)) {
            throw new FileAlreadyExistsException(file + ": exists; remove it first (keys are never overwritten)");
        }
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, HexFormat.of().formatHex(key) + "\n", StandardCharsets.US_ASCII);
    }
}
