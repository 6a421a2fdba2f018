package io.ferry.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One run of the ferry command line in this JVM, with what it printed.
 *
 * @param exit the exit code.
 * @param out  standard output.
 * @param err  standard error.
 */
record CliRun(int exit, String out, String err)
{
    static CliRun of(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cl = FerryCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        final int exit = cl.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }
}
