package io.ferry.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The log throttle on a fake clock. */
class LogThrottleTest
{
    @Test
    void aBurstPerPeriodThenTheHeldBackAreCountedOnTheNextLine()
    {
        final LogThrottle t = new LogThrottle(2, 1_000);
        assertThat(t.admit(0)).isZero();
        assertThat(t.admit(10)).isZero();
        assertThat(t.admit(20)).isEqualTo(-1);
        assertThat(t.admit(999)).isEqualTo(-1);
        assertThat(t.admit(1_000)).as("a new period: two held back").isEqualTo(2);
        assertThat(t.admit(1_001)).isZero();
        assertThat(t.admit(1_002)).isEqualTo(-1);
    }

    @Test
    void peerTextCannotForgeALogLine()
    {
        assertThat(LogThrottle.printable("evil\nWARNING: fake", 100)).isEqualTo("evil?WARNING: fake");
        assertThat(LogThrottle.printable("x".repeat(10), 4)).isEqualTo("xxxx...");
        assertThat(LogThrottle.printable(null, 4)).isEqualTo("null");
        assertThat(LogThrottle.printable("a\u202Eb", 10)).isEqualTo("a?b");
    }
}
