package io.ferry.tcp;

/**
 * A constant window: the baseline against which adaptive control is measured.
 */
public final class FixedWindowController implements CongestionController
{
    private final long window;
    private long baseRtt;
    private long srtt;

    /**
     * @param window bytes allowed in flight.
     */
    public FixedWindowController(final long window)
    {
        this.window = window;
    }

    public long windowBytes()
    {
        return window;
    }

    public void onAck(final long nowNs, final long rttNs, final long ackedBytes)
    {
        baseRtt = 0 == baseRtt ? rttNs : Math.min(baseRtt, rttNs);
        srtt = 0 == srtt ? rttNs : (7 * srtt + rttNs) / 8;
    }

    public long baseRttNs()
    {
        return baseRtt;
    }

    public long smoothedRttNs()
    {
        return srtt;
    }

    public String toString()
    {
        return "fixed(" + window + " B)";
    }
}
