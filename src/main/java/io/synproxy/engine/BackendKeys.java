package io.synproxy.engine;

import io.synproxy.config.IpAddress;
import io.synproxy.cookie.SaltSchedule;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Each backend's own authentication key, derived from the fleet's authentication key and the backend's address:
 * <pre>
 *   K_b = HKDF-Expand-SHA256(PRK = authentication key, info = "synproxy backend auth v1" || address, L = 16)
 * </pre>
 * (the address in network byte order, 4 or 16 bytes). A backend holds only its K_b ({@code scripts/backend.sh}
 * derives it, or takes it ready-made from {@code synproxy backend-key}), so a compromised backend can forge nothing
 * that another backend would accept.
 */
public final class BackendKeys {
    private static final byte[] INFO = "synproxy backend auth v1".getBytes(StandardCharsets.US_ASCII);

    private BackendKeys() {
    }

    /** The 16-byte key of the backend at {@code address}. */
    public static byte[] derive(final byte[] authKey, final IpAddress address) {
        final byte[] packed = address.bytes();
        return SaltSchedule.hkdfExpand(authKey, ByteBuffer.allocate(INFO.length + packed.length).put(INFO).put(packed)
            .array(), 16);
    }
}
