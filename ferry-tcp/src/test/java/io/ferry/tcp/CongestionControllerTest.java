package io.ferry.tcp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The window controllers, stepped with a fake clock.
 */
@Timeout(10)
class CongestionControllerTest
{
    private static final long MIB = 1 << 20;
    private static final long US = 1000;

    private long now = 1_000_000_000L;

    private SwiftController swift()
    {
        return new SwiftController(8 * MIB, MIB, 64 * MIB, MIB, 1.5, 0.8, 0.5);
    }

    private void ack(final CongestionController cc, final long rttUs, final int times)
    {
        for (int i = 0; i < times; i++)
        {
            now += rttUs * US / 4;
            cc.onAck(now, rttUs * US, MIB);
        }
    }

    @Test
    void windowGrowsAboutOneChunkPerWindowOfAcksWhileDelayStaysNearBase()
    {
        final SwiftController cc = swift();
        ack(cc, 100, 1);
        assertThat(cc.baseRttNs()).isEqualTo(100 * US);
        final long before = cc.windowBytes();
        ack(cc, 110, 8);
        assertThat(cc.windowBytes()).isBetween(before + MIB / 2, before + 2 * MIB);
        ack(cc, 100, 400);
        assertThat(cc.windowBytes()).as("about sqrt growth: one chunk per window of acks")
            .isBetween(20 * MIB, 40 * MIB);
        ack(cc, 100, 3000);
        assertThat(cc.windowBytes()).isEqualTo(64 * MIB);
    }

    @Test
    void windowShrinksInProportionToQueueingDelayAtMostOncePerRtt()
    {
        final SwiftController cc = swift();
        ack(cc, 100, 1);
        final long start = cc.windowBytes();
        // RTT 300 us against a 150 us target: factor = 1 - 0.8 * 150 / 300 = 0.6
        now += 1_000_000;
        cc.onAck(now, 300 * US, MIB);
        assertThat(cc.windowBytes()).isBetween((long)(start * 0.59), (long)(start * 0.61));
        final long afterFirst = cc.windowBytes();
        now += 100 * US;
        cc.onAck(now, 300 * US, MIB);
        assertThat(cc.windowBytes()).as("second decrease within one RTT is skipped").isEqualTo(afterFirst);
        now += 20_000 * US;
        cc.onAck(now, 10_000 * US, MIB);
        assertThat(cc.windowBytes()).as("decrease capped at 50%").isEqualTo(Math.max(MIB, afterFirst / 2));
    }

    @Test
    void windowNeverLeavesItsBoundsAndRecoversWhenDelayGoesAway()
    {
        final SwiftController cc = swift();
        ack(cc, 100, 1);
        for (int i = 0; i < 50; i++)
        {
            now += 20_000 * US;
            cc.onAck(now, 20_000 * US, MIB);
        }
        assertThat(cc.windowBytes()).isEqualTo(MIB);
        ack(cc, 100, 200);
        assertThat(cc.windowBytes()).isGreaterThan(8 * MIB);
        assertThat(cc.windowBytes()).isLessThan(64 * MIB);
        assertThat(cc.targetDelayNs()).isEqualTo(150 * US);
    }

    @Test
    void smallChunksDoNotMakeLargeOnesLookCongested()
    {
        final SwiftController cc = swift();
        for (int i = 0; i < 10; i++)
        {
            now += 40 * US;
            cc.onAck(now, 40 * US, 64);
        }
        final long before = cc.windowBytes();
        now += 2_000 * US;
        cc.onAck(now, 2_000 * US, MIB);
        assertThat(cc.windowBytes()).as("first 1 MiB chunk sets its own base").isGreaterThanOrEqualTo(before);
        now += 2_000 * US;
        cc.onAck(now, 2_100 * US, MIB);
        assertThat(cc.windowBytes()).isGreaterThan(before);
        now += 10_000 * US;
        cc.onAck(now, 6_000 * US, MIB);
        assertThat(cc.windowBytes()).as("three times its own base is congestion").isLessThan(before);
    }

    @Test
    void smoothedRttFollowsSamples()
    {
        final SwiftController cc = swift();
        ack(cc, 100, 1);
        ack(cc, 900, 30);
        assertThat(cc.smoothedRttNs()).isGreaterThan(800 * US);
        assertThat(cc.baseRttNs()).isEqualTo(100 * US);
    }

    @Test
    void fixedWindowStaysPut()
    {
        final FixedWindowController cc = new FixedWindowController(4 * MIB);
        ack(cc, 100, 10);
        now += 1_000_000;
        cc.onAck(now, 50_000 * US, MIB);
        assertThat(cc.windowBytes()).isEqualTo(4 * MIB);
        assertThat(cc.baseRttNs()).isEqualTo(100 * US);
    }
}
