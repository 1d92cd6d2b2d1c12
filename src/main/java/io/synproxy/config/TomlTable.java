package io.synproxy.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A view of one TOML table that knows its file and dotted path, so every error can say exactly where it is. Keys are
 * checked against an allowed set: a misspelt key is an error, never silently ignored.
 */
final class TomlTable {
    private final Path file;
    private final String path;
    private final ObjectNode node;

    TomlTable(final Path file, final String path, final ObjectNode node) {
        this.file = file;
        this.path = path;
        this.node = node;
    }

    Path file() {
        return file;
    }

    String key(final String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    ConfigException error(final String key, final String problem) {
        return new ConfigException(file + ": " + key(key) + ": " + problem);
    }

    /** Fails on the first key not in {@code allowed}, listing the allowed ones. */
    void allowOnly(final String... allowed) throws ConfigException {
        final Set<String> names = Set.of(allowed);
        for (final Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            final String name = it.next();
            if (!names.contains(name)) {
                throw new ConfigException(file + ": " + key(name) + ": unknown key; allowed here: "
                    + String.join(", ", new TreeSet<>(names)));
            }
        }
    }

    boolean has(final String name) {
        return node.has(name);
    }

    TomlTable table(final String name, final boolean required) throws ConfigException {
        final JsonNode child = node.get(name);
        if (child == null) {
            if (required) {
                throw error(name, "missing; this table is required");
            }
            return new TomlTable(file, key(name), node.objectNode());
        }
        if (!child.isObject()) {
            throw error(name, "must be a table ([" + key(name) + "])");
        }
        return new TomlTable(file, key(name), (ObjectNode) child);
    }

    /** An array of tables ({@code [[name]]}); empty if absent. */
    List<TomlTable> tables(final String name) throws ConfigException {
        final JsonNode child = node.get(name);
        final List<TomlTable> out = new ArrayList<>();
        if (child == null) {
            return out;
        }
        if (!child.isArray()) {
            throw error(name, "must be an array of tables ([[" + key(name) + "]])");
        }
        for (int i = 0; i < child.size(); i++) {
            final JsonNode element = child.get(i);
            if (!element.isObject()) {
                throw error(name + "[" + i + "]", "must be a table");
            }
            out.add(new TomlTable(file, key(name) + "[" + i + "]", (ObjectNode) element));
        }
        return out;
    }

    String string(final String name, final String fallback, final String allowed) throws ConfigException {
        final JsonNode value = node.get(name);
        if (value == null) {
            if (fallback == null) {
                throw error(name, "missing; required: " + allowed);
            }
            return fallback;
        }
        if (!value.isTextual()) {
            throw error(name, "'" + value + "' is not a string; allowed: " + allowed);
        }
        return value.asText();
    }

    long integer(final String name, final Long fallback, final long min, final long max) throws ConfigException {
        final JsonNode value = node.get(name);
        if (value == null) {
            if (fallback == null) {
                throw error(name, "missing; required: an integer from " + min + " to " + max);
            }
            return fallback;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw error(name, "'" + value + "' is not an integer; allowed: an integer from " + min + " to " + max);
        }
        final long v = value.asLong();
        if (v < min || v > max) {
            throw error(name, v + " is out of range; allowed: an integer from " + min + " to " + max);
        }
        return v;
    }

    boolean bool(final String name, final boolean fallback) throws ConfigException {
        final JsonNode value = node.get(name);
        if (value == null) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw error(name, "'" + value + "' is not a boolean; allowed: true or false");
        }
        return value.asBoolean();
    }

    /** An array of strings; {@code fallback} if absent. */
    List<String> strings(final String name, final List<String> fallback, final String allowed)
        throws ConfigException {
        final JsonNode value = node.get(name);
        if (value == null) {
            return fallback;
        }
        if (!value.isArray()) {
            throw error(name, "'" + value + "' is not an array of strings; allowed: " + allowed);
        }
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            if (!value.get(i).isTextual()) {
                throw error(name, "element " + i + " '" + value.get(i) + "' is not a string; allowed: " + allowed);
            }
            out.add(value.get(i).asText());
        }
        return out;
    }

    /** An array of integers, each in range; {@code fallback} if absent. */
    long[] integers(final String name, final long[] fallback, final int minCount, final int maxCount,
                    final long min, final long max) throws ConfigException {
        final JsonNode value = node.get(name);
        final String allowed = "an array of " + (minCount == maxCount ? String.valueOf(minCount)
            : minCount + " to " + maxCount) + " integers from " + min + " to " + max;
        if (value == null) {
            if (fallback == null) {
                throw error(name, "missing; required: " + allowed);
            }
            return fallback.clone();
        }
        if (!value.isArray() || value.size() < minCount || value.size() > maxCount) {
            throw error(name, "'" + value + "' is not allowed; allowed: " + allowed);
        }
        final long[] out = new long[value.size()];
        for (int i = 0; i < out.length; i++) {
            final JsonNode element = value.get(i);
            if (!element.isIntegralNumber() || element.asLong() < min || element.asLong() > max) {
                throw error(name, "element " + i + " '" + element + "' is not allowed; allowed: " + allowed);
            }
            out[i] = element.asLong();
        }
        return out;
    }

    /** Resolves a path relative to the directory of the config file. */
    Path path(final String name, final String allowed) throws ConfigException {
        final Path p = Path.of(string(name, null, allowed));
        final Path base = file.toAbsolutePath().getParent();
        return base == null || p.isAbsolute() ? p : base.resolve(p).normalize();
    }
}
