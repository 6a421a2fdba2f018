package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;


import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo runs end to end and verifies its bytes; bad usage exits 2 with a message.
 */
@Timeout(60)
class DemoCommandTest
{
    @Test
    void demoMovesAndVerifiesEveryByte()
    {
        final CliRun r = CliRun.of("demo", "--blocks", "64", "--block-size", "4096");
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
        final CliRun negative = CliRun.of("demo", "--blocks", "-1");
        assertThat(negative.exit()).isEqualTo(2);
        assertThat(negative.err()).contains("--blocks");
        final CliRun unknown = CliRun.of("demo", "--backend", "NOPE");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("NOPE");
        assertThat(CliRun.of("no-such-command").exit()).isEqualTo(2);
    }

    @Test
    void noSubcommandPrintsUsage()
    {
        final CliRun r = CliRun.of();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("demo");
    }
}
