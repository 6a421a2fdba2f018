package io.ferry.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ferry} command: dispatches to its subcommands.
 */
@Command(
    name = "ferry",
    mixinStandardHelpOptions = true,
    versionProvider = FerryCommand.Version.class,
    description = "ferry moves registered memory (KV-cache blocks, tensors) between agents, one-sided.",
    subcommands = {BenchCommand.class, DemoCommand.class, KvbenchCommand.class, DoctorCommand.class,
        CommandLine.HelpCommand.class})
public final class FerryCommand implements Runnable
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /**
     * Prints usage when no subcommand is given.
     */
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * @param args command line.
     * @return the exit code: 0 on success, 1 on a failed run, 2 on bad usage.
     */
    public static int execute(final String... args)
    {
        return commandLine().execute(args);
    }

    /**
     * @return the command line with ferry's error handling: a failed run prints {@code ferry: <message>} and exits
     * 1; bad usage prints the problem and usage and exits 2.
     */
    public static CommandLine commandLine()
    {
        final CommandLine cl = new CommandLine(new FerryCommand());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) ->
        {
            cmd.getErr().println("ferry " + cmd.getCommandName() + ": " + ex.getMessage());
            return 1;
        });
        return cl;
    }

    /**
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(execute(args));
    }

    /** Reports the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider
    {
        public String[] getVersion()
        {
            final String v = FerryCommand.class.getPackage().getImplementationVersion();
            return new String[] {"ferry " + (null == v ? "dev" : v) + " on Java " + Runtime.version()};
        }
    }
}
