package io.synproxy.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code synproxy} command line. */
@Command(name = "synproxy", mixinStandardHelpOptions = true, version = "synproxy 0.1.0",
    description = "Stateless TCP SYN proxy: SYN cookies at the edge, sockets created on the backends.",
    subcommands = {RunCommand.class, StatCommand.class, CheckCommand.class, ReplayCommand.class, KeygenCommand.class,
        GenCommand.class, BackendKeyCommand.class, FuzzCommand.class, DrainCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
    public static void main(final String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(final String... args) {
        return new CommandLine(new Main()).execute(args);
    }
}
