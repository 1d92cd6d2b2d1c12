package io.synproxy.engine;

import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.KeyFile;
import io.synproxy.cookie.SaltSchedule;
import java.io.IOException;
import java.security.MessageDigest;

/**
 * The key material the engine uses: the cookie secret (and, during a rotation, the one also accepted), the
 * proxy-backend authentication key (from which each backend's own key is derived, {@link BackendKeys}; the proxies
 * issue with it, the backends accept the next or previous one too) and the flow hash's keys (from the cookie secret
 * file's flow seed, so every node has the same ones and a rotation moves no flow).
 *
 * @param masterSecret the cookie secret cookies are issued with
 * @param acceptSecret a cookie secret also accepted (a rotation's overlap), or null
 * @param authKey      the authentication key authenticators are made with
 * @param authAccept   an authentication key the backends also accept, or null (proxies never use it)
 * @param flowSeed     the flow hash's 16-byte seed
 */
public record ProxyKeys(byte[] masterSecret, byte[] acceptSecret, byte[] authKey, byte[] authAccept,
                        byte[] flowSeed, FlowHash flowHash) {

    public static ProxyKeys of(final byte[] masterSecret, final byte[] authKey) {
        final byte[] seed = KeyFile.deriveFlowSeed(masterSecret);
        return new ProxyKeys(masterSecret.clone(), null, authKey.clone(), null, seed, FlowHash.fromSeed(seed));
    }

    /** Keys with {@code accept} also accepted for cookies (a rotation's overlap); the flow seed stays. */
    public ProxyKeys withAcceptedSecret(final byte[] accept) {
        return new ProxyKeys(masterSecret, accept.clone(), authKey, authAccept, flowSeed, flowHash);
    }

    /**
     * Reads both key files named by the configuration. One key must never serve both purposes: the cookie secret is
     * shared by proxies only, the authentication key with every backend.
     */
    public static ProxyKeys load(final ProxyConfig config) throws IOException {
        final KeyFile secret = KeyFile.read(config.cookie().secretFile());
        final KeyFile auth = KeyFile.read(config.encap().authKeyFile());
        for (final byte[] a : new byte[][] {auth.issue(), auth.accept()}) {
            for (final byte[] c : new byte[][] {secret.issue(), secret.accept()}) {
                if (a != null && c != null && MessageDigest.isEqual(a, c)) {
                    throw new IOException(config.encap().authKeyFile() + ": holds the same key as "
                        + config.cookie().secretFile() + " (cookie.secret_file); allowed: a key of its own, made "
                        + "with `synproxy keygen` (the backends hold the authentication key, and must never learn "
                        + "the cookie secret)");
                }
            }
        }
        final byte[] seed = secret.flowSeed();
        return new ProxyKeys(secret.issue(), secret.accept(), auth.issue(), auth.accept(), seed,
            FlowHash.fromSeed(seed));
    }

    /** The salts: the issued secret's, with the accepted secret's alongside during a rotation. */
    public SaltSchedule saltSchedule(final ProxyConfig config) {
        final SaltSchedule issued = new SaltSchedule(masterSecret, config.cookie().saltPeriodSeconds(),
            config.cookie().graceSeconds(), config.cookie().maxClockSkewMillis());
        return acceptSecret == null ? issued : issued.withAlternate(new SaltSchedule(acceptSecret,
            config.cookie().saltPeriodSeconds(), config.cookie().graceSeconds(), config.cookie().maxClockSkewMillis()));
    }
}
