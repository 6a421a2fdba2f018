package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo runs end to end and verifies its bytes; bad usage exits 2 with a message.
 */
@Timeout(60)
class DemoCommandTest
{
    private record Run(int exit, String out, String err)
    {
    }

    private static Run run(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cl = FerryCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        final int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void demoMovesAndVerifiesEveryByte()
    {
        final Run r = run("demo", "--blocks", "64", "--block-size", "4096");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("push (WRITE)").contains("64 descriptor(s)")
            .contains("decode got 'req-17:kv-ready' from prefill-0")
            .contains("pull (READ)").contains("1 descriptor(s)")
            .doesNotContain("MISMATCH");
        assertThat(r.out().lines().filter(l -> l.endsWith(": OK")).count()).isEqualTo(2);
    }

    @Test
    void badUsageExitsTwoWithAMessage()
    {
        final Run negative = run("demo", "--blocks", "-1");
        assertThat(negative.exit()).isEqualTo(2);
        assertThat(negative.err()).contains("--blocks");
        final Run unknown = run("demo", "--backend", "NOPE");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("NOPE");
        assertThat(run("no-such-command").exit()).isEqualTo(2);
    }

    @Test
    void noSubcommandPrintsUsage()
    {
        final Run r = run();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("demo");
    }
}
