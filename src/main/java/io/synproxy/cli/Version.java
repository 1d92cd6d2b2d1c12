package io.synproxy.cli;

/** The version of this build and the DPDK its shim was compiled against. */
public final class Version {
    /** From the jar's manifest (Implementation-Version), or the source tree's when run from classes. */
    public static final String VERSION = java.util.Objects.requireNonNullElse(
        Version.class.getPackage().getImplementationVersion(), "0.1.0-SNAPSHOT");
    /** The DPDK the shim was built for (its RTE_VERSION), or "unknown" when the shim cannot be loaded. */
    public static final String DPDK = dpdk();

    private Version() {
    }

    private static String dpdk() {
        try {
            return io.synproxy.bindings.Shim.dpdkBuiltFor();
        } catch (final Throwable e) {
            return "unknown";
        }
    }
}
