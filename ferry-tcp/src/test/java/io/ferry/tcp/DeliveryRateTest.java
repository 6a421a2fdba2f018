package io.ferry.tcp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A path's delivery-rate estimate, stepped with a fake clock.
 */
@Timeout(10)
class DeliveryRateTest
{
    private static final long MIB = 1 << 20;
    private static final long US = 1000;

    private long now = 1_000_000_000L;
    private final DeliveryRate rate = new DeliveryRate();
    /** Sent, unacknowledged chunks: {delivered, deliveredNs} noted at their send. */
    private final ArrayDeque<long[]> flight = new ArrayDeque<>();

    private void send()
    {
        rate.onSend(now, !flight.isEmpty());
        flight.addLast(new long[] {rate.delivered(), rate.deliveredNs()});
    }

    private void ack()
    {
        final long[] c = flight.pollFirst();
        rate.onAck(now, MIB, c[0], c[1]);
    }

    /**
     * A path kept 4 chunks deep that delivers {@code burst} chunks at once every {@code burst x spacingUs}: the
     * bottleneck's rate is 1 MiB per spacingUs whatever the burst size.
     */
    private void run(final int chunks, final int burst, final long spacingUs)
    {
        while (flight.size() < 4)
        {
            send();
        }
        for (int i = 0; i < chunks / burst; i++)
        {
            now += burst * spacingUs * US;
            for (int k = 0; k < burst; k++)
            {
                ack();
                send();
            }
        }
    }

    @Test
    void noEstimateBeforeTheFirstAck()
    {
        assertThat(rate.rate(now, 0)).isZero();
    }

    @Test
    void evenlySpacedAcksMeasureTheBottleneck()
    {
        run(64, 1, 250); // 1 MiB every 250 us: 4.19 bytes/ns, though each chunk waits 1 ms from send to ack
        assertThat(rate.rate(now, MIB)).isCloseTo(MIB / 250_000.0, within(0.05));
    }

    @Test
    void acksArrivingInBurstsDoNotReadAsAHugeRate()
    {
        run(64, 4, 250); // the same bottleneck, its acks read 4 at a time
        assertThat(rate.rate(now, MIB)).isBetween(0.6 * MIB / 250_000.0, 1.05 * MIB / 250_000.0);
    }

    @Test
    void aChunkOnAnIdlePathMeasuresFromItsOwnSend()
    {
        now += 1_000 * US;
        send();
        now += 500 * US;
        ack();
        assertThat(rate.rate(now, 0)).isCloseTo(MIB / 500_000.0, within(1e-9));
    }

    @Test
    void estimateFollowsARateChangeGradually()
    {
        run(64, 1, 250);
        final double fast = rate.rate(now, MIB);
        run(4, 1, 1000);
        assertThat(rate.rate(now, MIB)).isBetween(fast * 0.3, fast * 0.95);
        run(96, 1, 1000);
        assertThat(rate.rate(now, MIB)).isCloseTo(MIB / 1_000_000.0, within(0.01));
    }

    @Test
    void anIdlePathsOldEstimateGoesStaleAndTheNextSampleReplacesIt()
    {
        run(64, 1, 4_000); // slow: 0.26 bytes/ns (a cold start, or cross traffic then)
        while (!flight.isEmpty())
        {
            now += 4_000 * US;
            ack();
        }
        assertThat(rate.rate(now, 0)).isPositive();
        now += DeliveryRate.STALE_NS - 1;
        assertThat(rate.rate(now, 0)).as("still fresh").isPositive();
        now += 2;
        assertThat(rate.rate(now, 0)).as("stale: no estimate, so the path is tried again").isZero();
        assertThat(rate.rate(now, MIB)).as("a path with bytes in flight is being measured").isPositive();
        send();
        now += 250 * US;
        ack();
        assertThat(rate.rate(now, 0)).as("replaced, not averaged with the stale value")
            .isCloseTo(MIB / 250_000.0, within(1e-9));
    }

    @Test
    void progressOfTheChunkOnItsWayIsTheRateTimesTheTimeSinceTheLatestDelivery()
    {
        assertThat(rate.deliveredSinceLatest(now, 4 * MIB, MIB)).as("no estimate yet").isZero();
        run(64, 1, 1000); // 1 MiB per millisecond, 4 chunks in flight, an ack just came
        assertThat(rate.deliveredSinceLatest(now, 4 * MIB, MIB)).as("just delivered").isZero();
        now += 250 * US;
        assertThat(rate.deliveredSinceLatest(now, 4 * MIB, MIB)).isCloseTo(MIB / 4, within(MIB / 100));
        now += 500 * US;
        assertThat(rate.deliveredSinceLatest(now, 4 * MIB, MIB)).isCloseTo(3 * MIB / 4, within(MIB / 100));
        assertThat(rate.deliveredSinceLatest(now, 4 * MIB, MIB / 2)).as("never more than the chunk on its way")
            .isEqualTo(MIB / 2);
        now += 5_000 * US;
        assertThat(rate.deliveredSinceLatest(now, 4 * MIB, MIB)).as("a late ack: capped, not run ahead")
            .isEqualTo(MIB);
        assertThat(rate.deliveredSinceLatest(now, 0, MIB)).as("nothing in flight").isZero();
    }
}
