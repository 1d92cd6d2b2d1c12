package io.synproxy.cookie;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * Key files: the cookie master secret and the proxy-backend authentication key. Both are lowercase hex on one line
 * (a trailing newline and surrounding blanks are ignored), at least 128 bits. {@code keygen} writes 256 bits, mode 0600.
 */
public final class MasterSecret {
    public static final int MIN_BYTES = 16;
    public static final int GENERATED_BYTES = 32;

    private MasterSecret() {
    }

    /**
     * Reads a key file; the message of any failure names the file and what is wrong with it. A key file must be a
     * regular file (a symbolic link to one is fine) that no group and no other user can read or write.
     */
    public static byte[] read(final Path file) throws IOException {
        return KeyFile.read(file).issue();
    }

    /** A key file's text, once its type and mode are checked (see {@link #read}). */
    static String readText(final Path file) throws IOException {
        checkFile(file);
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (final IOException e) {
            throw new IOException(file + ": cannot read key file (" + e.getClass().getSimpleName() + ": "
                + e.getMessage() + "); make one with `synproxy keygen --out " + file + "`", e);
        }
    }

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

    private static void checkFile(final Path file) throws IOException {
        if (!Files.exists(file)) {
            return; // read() says so, with the keygen hint
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file; allowed: a key file made by `synproxy keygen --out "
                + file + "`");
        }
        final Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
        final Set<PosixFilePermission> open = EnumSet.noneOf(PosixFilePermission.class);
        open.addAll(mode);
        open.retainAll(GROUP_OR_OTHERS);
        if (!open.isEmpty()) {
            throw new IOException(file + ": mode " + octal(mode) + " lets group or others read or write the key; "
                + "allowed: 0600 or 0400 (chmod 600 " + file + ")");
        }
    }

    private static String octal(final Set<PosixFilePermission> mode) {
        int bits = 0;
        for (final PosixFilePermission p : mode) {
            bits |= 1 << (8 - p.ordinal());
        }
        return String.format("%04o", bits);
    }

    /**
     * Writes a fresh random key, mode 0600. The file is created exclusively without following a symbolic link (open
     * with O_CREAT|O_EXCL|O_NOFOLLOW), and the key written through that one descriptor: an existing file or link at
     * the path is refused, never overwritten or followed.
     */
    public static void generate(final Path file) throws IOException {
        final byte[] key = new byte[GENERATED_BYTES];
        new SecureRandom().nextBytes(key);
        write(file, key);
    }

    /** Writes {@code key} as a new key file, as {@link #generate} does. */
    public static void write(final Path file, final byte[] key) throws IOException {
        writeText(file, HexFormat.of().formatHex(key) + "\n");
    }

    /** Writes a new key file holding {@code text}, as {@link #generate} does (never over an existing file). */
    public static void writeText(final Path file, final String text) throws IOException {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(file + ": exists; remove it first (keys are never overwritten)");
        }
        try (SeekableByteChannel channel = Files.newByteChannel(file, Set.<java.nio.file.OpenOption>of(
            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            final ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        } catch (final FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(file + ": exists; remove it first (keys are never overwritten)");
        }
    }
}
