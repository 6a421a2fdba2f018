package io.ferry.tcp;

/**
 * A delay-based window after Swift (Kumar et al., SIGCOMM 2020), as UCCL uses it: while a chunk's RTT stays at or
 * below the target delay the window grows additively (one chunk per window's worth of acks, i.e. about one chunk
 * per RTT); above it the window shrinks multiplicatively in proportion to the excess delay,
 * {@code w *= max(1 - beta * (rtt - target) / rtt, 1 - maxDecrease)}, at most once per RTT. The target delay is
 * the base (smallest) RTT seen for chunks of the same size class (powers of two) times {@code targetFactor}: a
 * 64-byte chunk's round trip says nothing about how long a 1 MiB chunk should take, so sizes never judge each
 * other, and the target adapts to link speed.
 */
public final class SwiftController implements CongestionController
{
    private final long minWindow;
    private final long maxWindow;
    private final long increaseBytes;
    private final double targetFactor;
    private final double beta;
    private final double maxDecrease;
    private double window;
    private final long[] baseRttBySize = new long[64];
    private long baseRtt;
    private long srtt;
    private long lastDecreaseNs;
    private boolean decreasedBefore;

    /**
     * @param initialWindow starting window in bytes.
     * @param minWindow     smallest window.
     * @param maxWindow     largest window.
     * @param increaseBytes additive increase per RTT (a chunk).
     * @param targetFactor  target delay as a multiple of the base RTT (>= 1).
     * @param beta          decrease gain.
     * @param maxDecrease   largest fraction removed in one decrease.
     */
    public SwiftController(
        final long initialWindow,
        final long minWindow,
        final long maxWindow,
        final long increaseBytes,
        final double targetFactor,
        final double beta,
        final double maxDecrease)
    {
        this.minWindow = minWindow;
        this.maxWindow = maxWindow;
        this.increaseBytes = increaseBytes;
        this.targetFactor = targetFactor;
        this.beta = beta;
        this.maxDecrease = maxDecrease;
        this.window = Math.clamp(initialWindow, minWindow, maxWindow);
    }

    public long windowBytes()
    {
        return (long)window;
    }

    public void onAck(final long nowNs, final long rttNs, final long ackedBytes)
    {
        final long rtt = Math.max(1, rttNs);
        final int sizeClass = 63 - Long.numberOfLeadingZeros(Math.max(1, ackedBytes));
        final long base = 0 == baseRttBySize[sizeClass] ? rtt : Math.min(baseRttBySize[sizeClass], rtt);
        baseRttBySize[sizeClass] = base;
        baseRtt = base;
        srtt = 0 == srtt ? rtt : (7 * srtt + rtt) / 8;
        final double target = base * targetFactor;
        if (rtt <= target)
        {
            window += (double)increaseBytes * ackedBytes / window;
        }
        else if (!decreasedBefore || nowNs - lastDecreaseNs >= rtt)
        {
            decreasedBefore = true;
            final double factor = Math.max(1 - beta * (rtt - target) / rtt, 1 - maxDecrease);
            window *= factor;
            lastDecreaseNs = nowNs;
        }
        window = Math.clamp(window, (double)minWindow, (double)maxWindow);
    }

    public long baseRttNs()
    {
        return baseRtt;
    }

    public long smoothedRttNs()
    {
        return srtt;
    }

    /**
     * @return the target delay of the size class last acknowledged, in nanoseconds (0 before the first ack).
     */
    public long targetDelayNs()
    {
        return (long)(baseRtt * targetFactor);
    }

    public String toString()
    {
        return "swift(window " + (long)window + " B, base RTT " + baseRtt / 1000 + " us)";
    }
}
