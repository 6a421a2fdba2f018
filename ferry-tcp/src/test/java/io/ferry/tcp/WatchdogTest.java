package io.ferry.tcp;

import org.junit.jupiter.api.Test;

import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The TCP watchdog's duty cycle on a fake clock: deadlines close their connections, links are asked each round. */
class WatchdogTest
{
    @Test
    void aConnectionIsClosedOnlyOnceItsDeadlineHasPassedAndEveryRoundAsksTheLinks() throws Exception
    {
        final List<Long> asked = new ArrayList<>();
        final Watchdog w = new Watchdog(now ->
        {
            asked.add(now);
            return 0;
        }, 5);
        try (SocketChannel late = SocketChannel.open(); SocketChannel cleared = SocketChannel.open())
        {
            final long set = System.nanoTime();
            w.deadline(late, 1_000);
            w.deadline(cleared, 1_000);
            w.clear(cleared);
            final long due = set + 1_000_000_000L;
            assertThat(w.doWork(set + 500_000_000L)).as("half way: nothing to close").isZero();
            assertThat(late.isOpen()).isTrue();
            // the deadline was set a moment after 'set': at 'due' + 1 s it has certainly passed
            assertThat(w.doWork(due + 1_000_000_000L)).as("past the deadline: one closed").isEqualTo(1);
            assertThat(late.isOpen()).isFalse();
            assertThat(cleared.isOpen()).as("a cleared deadline closes nothing").isTrue();
            assertThat(w.doWork(due + 5_000_000_000L)).as("each deadline fires once").isZero();
            assertThat(asked).containsExactly(set + 500_000_000L, due + 1_000_000_000L, due + 5_000_000_000L);
        }
    }

    @Test
    void whatTheLinksDeclaredDeadCountsAsWork()
    {
        final Watchdog w = new Watchdog(now -> now > 100 ? 2 : 0, 5);
        assertThat(w.doWork(50)).isZero();
        assertThat(w.doWork(150)).isEqualTo(2);
    }
}
