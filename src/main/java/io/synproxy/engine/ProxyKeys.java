package io.synproxy.engine;

import io.synproxy.config.ProxyConfig;
import io.synproxy.cookie.MasterSecret;
import io.synproxy.cookie.SaltSchedule;
import io.synproxy.cookie.SipHash;
import java.io.IOException;

/**
 * The key material the engine uses besides the salts: the proxy-backend authentication key and the flow-hash seed
 * (derived from the master secret so every node has the same one).
 */
public record ProxyKeys(byte[] masterSecret, long authK0, long authK1, long flowSeed) {

    public static ProxyKeys of(final byte[] masterSecret, final byte[] authKey) {
        final long seed = SipHash.keyWord(SaltSchedule.derive(masterSecret, "synproxy flow hash seed v1", 16), 0);
        return new ProxyKeys(masterSecret.clone(), SipHash.keyWord(authKey, 0), SipHash.keyWord(authKey, 1), seed);
    }

    /** Reads both key files named by the configuration. */
    public static ProxyKeys load(final ProxyConfig config) throws IOException {
        return of(MasterSecret.read(config.cookie().secretFile()), MasterSecret.read(config.encap().authKeyFile()));
    }

    public SaltSchedule saltSchedule(final ProxyConfig config) {
        return new SaltSchedule(masterSecret, config.cookie().saltPeriodSeconds(), config.cookie().graceSeconds());
    }
}
