package io.synproxy.config;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * A literal IPv4 or IPv6 address (never a host name: configuration must not depend on DNS). IPv4 is held as its
 * 32-bit value, IPv6 as two big-endian 64-bit halves: the forms the packet engine compares and writes.
 */
public record IpAddress(boolean v6, int v4, long high, long low, String text) {

    /** Parses a literal address; returns null if {@code text} is not one. */
    public static IpAddress parse(final String text) {
        if (text == null || text.isEmpty() || !(text.indexOf(':') >= 0 || text.matches("[0-9.]+"))) {
            return null;
        }
        final InetAddress address;
        try {
            address = InetAddress.ofLiteral(text);
        } catch (final IllegalArgumentException e) {
            return null;
        }
        final byte[] bytes = address.getAddress();
        final ByteBuffer buffer = ByteBuffer.wrap(bytes);
        if (address instanceof Inet4Address) {
            return new IpAddress(false, buffer.getInt(), 0, 0, address.getHostAddress());
        }
        if (address instanceof Inet6Address) {
            return new IpAddress(true, 0, buffer.getLong(), buffer.getLong(), address.getHostAddress());
        }
        return null;
    }

    public byte[] bytes() {
        return v6 ? ByteBuffer.allocate(16).putLong(high).putLong(low).array() : ByteBuffer.allocate(4).putInt(v4)
            .array();
    }

    public InetAddress inetAddress() {
        try {
            return InetAddress.getByAddress(bytes());
        } catch (final UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean isUnspecified() {
        return v6 ? high == 0 && low == 0 : v4 == 0;
    }

    public boolean isMulticast() {
        return inetAddress().isMulticastAddress();
    }

    @Override
    public String toString() {
        return text;
    }
}
