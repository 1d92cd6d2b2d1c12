package io.synproxy.config;

/** An address with its prefix length, as an interface carries it ("10.1.0.2/24", "fd01::2/64"). */
public record IpPrefix(IpAddress address, int length) {
    /** Parses "ADDRESS/LENGTH"; null if it is not one. */
    public static IpPrefix parse(final String text) {
        final int slash = text.indexOf('/');
        if (slash < 0) {
            return null;
        }
        final IpAddress address = IpAddress.parse(text.substring(0, slash));
        final int length;
        try {
            length = Integer.parseInt(text.substring(slash + 1));
        } catch (final NumberFormatException e) {
            return null;
        }
        if (address == null || length < 1 || length > (address.v6() ? 128 : 32)) {
            return null;
        }
        return new IpPrefix(address, length);
    }

    @Override
    public String toString() {
        return address + "/" + length;
    }
}
