package io.synproxy.engine;

/**
 * Source addresses no real client has (RFC 1812 section 5.3.7, RFC 4291): a SYN-ACK sent to them would be a
 * reflection at a broadcast, multicast or loopback address, or at someone who never sent the SYN. The caller adds our
 * own addresses (a VIP as the source of a packet to a VIP is a spoof).
 */
final class Martians {
    private Martians() {
    }

    /**
     * 0.0.0.0/8, 127.0.0.0/8, multicast 224.0.0.0/4, reserved 240.0.0.0/4 and the broadcast address.
     *
     * @param source the address as a big-endian int
     */
    static boolean v4(final int source) {
        final int first = source >>> 24;
        return first == 0 || first == 127 || first >= 224;
    }

    /** The unspecified address ::, loopback ::1, multicast ff00::/8 and IPv4-mapped ::ffff:0:0/96. */
    static boolean v6(final long high, final long low) {
        return (high >>> 56) == 0xff || high == 0 && (low == 0 || low == 1 || (low >>> 32) == 0xffffL);
    }
}
