package io.synproxy.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code synproxy} command line. */
@Command(name = "synproxy", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
    description = "Stateless TCP SYN proxy: SYN cookies at the edge, sockets created on the backends.",
    subcommands = {RunCommand.class, StatCommand.class, CheckCommand.class, ReplayCommand.class, KeygenCommand.class,
        GenCommand.class, BackendKeyCommand.class, FuzzCommand.class, DrainCommand.class,
        ReloadCommand.class, ErrorsCommand.class, KeyRotateCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    /** {@code --version}: this build and the DPDK its shim links. */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"synproxy " + Version.VERSION + " (" + Version.DPDK + ")"};
        }
    }

    public static void main(final String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(final String... args) {
        return new CommandLine(new Main()).execute(args);
    }
}
