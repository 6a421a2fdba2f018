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
    subcommands = {BenchCommand.class, DemoCommand.class, KvbenchCommand.class, DoctorCommand.class, ChartCommand.class,
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
        quietLogging(System.getenv("FERRY_LOG"));
        System.exit(execute(args));
    }

    /**
     * The command's own output says what happened; the library's log shows only warnings and errors unless
     * {@code FERRY_LOG} names another java.util.logging level (e.g. {@code FERRY_LOG=INFO} or {@code FINE}).
     */
    static void quietLogging(final String level)
    {
        java.util.logging.Level l = java.util.logging.Level.WARNING;
        if (null != level && !level.isBlank())
        {
            try
            {
                l = java.util.logging.Level.parse(level.trim().toUpperCase(java.util.Locale.ROOT));
            }
            catch (final IllegalArgumentException ex)
            {
                System.err.println("ferry: FERRY_LOG=" + level + " is not a log level; using WARNING");
            }
        }
        final java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(l);
        for (final java.util.logging.Handler h : root.getHandlers())
        {
            h.setLevel(l);
        }
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
