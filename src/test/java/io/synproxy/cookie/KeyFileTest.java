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
}
