package io.synproxy.engine;

import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.MasterSecret;
import io.synproxy.cookie.SaltSchedule;
import java.io.IOException;
import java.security.MessageDigest;

/**
 * The key material the engine uses besides the salts: the proxy-backend authentication key (from which each
 * backend's own key is derived, {@link BackendKeys}) and the flow hash's keys (derived from the master secret, so
 * every node has the same ones).
 */
public record ProxyKeys(byte[] masterSecret, byte[] authKey, FlowHash flowHash) {

    public static ProxyKeys of(final byte[] masterSecret, final byte[] authKey) {
        return new ProxyKeys(masterSecret.clone(), authKey.clone(), FlowHash.fromSecret(masterSecret));
    }

    /**
     * Reads both key files named by the configuration. One key must never serve both purposes: the cookie secret is
     * shared by proxies only, the authentication key with every backend.
     */
    public static ProxyKeys load(final ProxyConfig config) throws IOException {
        final byte[] secret = MasterSecret.read(config.cookie().secretFile());
        final byte[] auth = MasterSecret.read(config.encap().authKeyFile());
        if (MessageDigest.isEqual(secret, auth)) {
            throw new IOException(config.encap().authKeyFile() + ": holds the same key as "
                + config.cookie().secretFile() + " (cookie.secret_file); allowed: a key of its own, made with "
                + "`synproxy keygen` (the backends hold the authentication key, and must never learn the cookie "
                + "secret)");
        }
        return of(secret, auth);
    }

    public SaltSchedule saltSchedule(final ProxyConfig config) {
        return new SaltSchedule(masterSecret, config.cookie().saltPeriodSeconds(), config.cookie().graceSeconds(),
            config.cookie().maxClockSkewMillis());
    }
}
