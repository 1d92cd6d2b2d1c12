package io.synproxy.config;

/**
 * Where {@code /metrics} is served for Prometheus ({@code [metrics] listen = "ADDR:PORT"}); absent: not served.
 *
 * @param host the address to listen on (an IPv4 or IPv6 literal; "0.0.0.0" or "::" for all)
 * @param port the TCP port
 */
public record Metrics(String host, int port) {

    static Metrics parse(final TomlTable root) throws ConfigException {
        if (!root.has("metrics")) {
            return null;
        }
        final TomlTable m = root.table("metrics", false);
        m.allowOnly("listen");
        final String allowed = "\"ADDRESS:PORT\", e.g. \"127.0.0.1:9410\" or \"[::1]:9410\" (an address of this "
            + "host, a port from 1 to 65535)";
        final String listen = m.string("listen", null, allowed);
        final int colon = listen.lastIndexOf(':');
        if (colon <= 0 || colon == listen.length() - 1) {
            throw m.error("listen", "'" + listen + "' is not allowed; allowed: " + allowed);
        }
        String host = listen.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw m.error("listen", "'" + listen + "': an IPv6 address goes in brackets; allowed: " + allowed);
        }
        final int port;
        try {
            port = Integer.parseInt(listen.substring(colon + 1));
            IpAddress.parse(host);
        } catch (final RuntimeException e) {
            throw m.error("listen", "'" + listen + "' is not allowed; allowed: " + allowed);
        }
        if (port < 1 || port > 65535) {
            throw m.error("listen", "port " + port + " is not allowed; allowed: " + allowed);
        }
        return new Metrics(host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
