package io.synproxy.cookie;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synproxy.TestSupport;
import io.synproxy.config.ProxyConfig;
import io.synproxy.engine.ProxyKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key files: who may read them, what they may be, and that one key never serves twice. */
class KeyFileTest {
    @TempDir
    Path dir;

    @Test
    void aKeyFileReadableByGroupOrOthersIsRefusedWithItsMode() throws Exception {
        final Path key = dir.resolve("k.key");
        TestSupport.writeKey(key, TestSupport.SECRET_HEX);
        assertEquals(32, MasterSecret.read(key).length);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        final IOException e = assertThrows(IOException.class, () -> MasterSecret.read(key));
        assertEquals(key + ": mode 0644 lets group or others read or write the key; allowed: 0600 or 0400 "
            + "(chmod 600 " + key + ")", e.getMessage());
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--------"));
        assertEquals(32, MasterSecret.read(key).length, "0400 is fine");
    }

    @Test
    void aKeyPathThatIsNotARegularFileIsRefused() throws Exception {
        final Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        final IOException e = assertThrows(IOException.class, () -> MasterSecret.read(fifo));
        assertTrue(e.getMessage().startsWith(fifo + ": not a regular file"), e.getMessage());
        assertThrows(IOException.class, () -> MasterSecret.read(dir));
    }

    @Test
    void keygenCreatesItsFileExclusivelyAndNeverFollowsALink() throws Exception {
        final Path key = dir.resolve("new.key");
        MasterSecret.generate(key);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertEquals(32, MasterSecret.read(key).length);
        final String before = Files.readString(key);
        assertThrows(IOException.class, () -> MasterSecret.generate(key), "never overwritten");
        assertEquals(before, Files.readString(key));
        final Path target = dir.resolve("victim");
        Files.writeString(target, "precious");
        final Path link = dir.resolve("link.key");
        Files.createSymbolicLink(link, target);
        assertThrows(IOException.class, () -> MasterSecret.generate(link));
        assertEquals("precious", Files.readString(target), "the link's target is untouched");
        final Path dangling = dir.resolve("dangling.key");
        Files.createSymbolicLink(dangling, dir.resolve("nowhere"));
        assertThrows(IOException.class, () -> MasterSecret.generate(dangling));
        assertTrue(Files.notExists(dir.resolve("nowhere")), "no file created through a dangling link");
    }

    @Test
    void theSameKeyForCookiesAndAuthenticationIsRefused() throws Exception {
        final ProxyConfig config = TestSupport.config(dir, TestSupport.BASE_CONFIG);
        TestSupport.writeKey(dir.resolve("backend.key"), TestSupport.SECRET_HEX);
        final IOException e = assertThrows(IOException.class, () -> ProxyKeys.load(config));
        assertTrue(e.getMessage().contains("holds the same key as"), e.getMessage());
    }

    @Test
    void aRotationsFileHoldsTheIssuedTheAcceptedAndThePinnedFlowSeed() throws Exception {
        final Path key = dir.resolve("rot.key");
        final String other = "ff".repeat(32);
        TestSupport.writeKey(key, "# rotating\nissue " + TestSupport.SECRET_HEX + "\n\naccept " + other
            + "  # the next one\nflow " + "ab".repeat(16));
        final KeyFile read = KeyFile.read(key);
        assertEquals(TestSupport.SECRET_HEX, java.util.HexFormat.of().formatHex(read.issue()));
        assertEquals(other, java.util.HexFormat.of().formatHex(read.accept()));
        assertEquals("ab".repeat(16), java.util.HexFormat.of().formatHex(read.flowSeed()));
        final Path copy = dir.resolve("copy.key");
        TestSupport.writeKey(copy, TestSupport.SECRET_HEX);
        read.replace(copy);
        assertEquals(read.format(), Files.readString(copy), "replaced whole");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));

        final KeyFile legacy = KeyFile.read(writeKey("legacy.key", TestSupport.SECRET_HEX));
        assertEquals(null, legacy.accept());
        assertEquals(java.util.HexFormat.of().formatHex(KeyFile.deriveFlowSeed(legacy.issue())),
            java.util.HexFormat.of().formatHex(legacy.flowSeed()), "unpinned: derived from the issued key");
    }

    @Test
    void aMalformedRotationFileIsRefusedNamingTheLine() throws Exception {
        final String k = TestSupport.SECRET_HEX;
        for (final String[] bad : new String[][] {
            {"accept " + k, "no key to issue with"},
            {"issue " + k + "\nissue " + "ee".repeat(32), "line 2: a second key to issue with"},
            {"issue " + k + "\naccept " + k, "the accepted key is the issued one"},
            {"issue " + k + "\nnext " + k, "line 2: 'next' is not allowed; allowed: issue, accept, flow"},
            {"issue " + k + "\nflow abcd", "line 2: key has 16 bits"},
            {"issue " + k + "\nflow " + "ab".repeat(20), "line 2: the flow seed has 20 bytes"},
            {k + "\n" + k, "line 2: a bare key is allowed only as the file's one line"},
            {"issue " + k.substring(1), "line 1: a key must be hex digits only"},
        }) {
            final Path file = writeKey("bad.key", bad[0]);
            final IOException e = assertThrows(IOException.class, () -> KeyFile.read(file), bad[0]);
            assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(bad[1]),
                e.getMessage());
            Files.delete(file);
        }
    }

    private Path writeKey(final String name, final String text) throws IOException {
        final Path file = dir.resolve(name);
        TestSupport.writeKey(file, text);
        return file;
    }
}
