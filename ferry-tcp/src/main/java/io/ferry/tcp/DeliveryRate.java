package io.ferry.tcp;

/**
 * A path's delivery-rate estimate, in bytes per nanosecond: an EWMA of per-ack samples, each taken as BBR takes
 * them. When a chunk is sent, the path's count of delivered bytes and the time of the latest delivery are noted;
 * when its ack comes, the sample is the bytes delivered since then over the time since then. The interval spans a
 * whole flight of chunks, so acks that arrive in bursts (a receiver that drains several chunks from its socket and
 * acks them back to back, as on a loopback of many cores) do not read as a huge rate: measured on 32 cores, the
 * spacing of successive acks had put one path at 20-85 GB/s against 2 GB/s for the others, and every chunk went
 * to it. A chunk sent onto an idle path restarts the clock at its send time (its sample is then a lower bound).
 * <p>
 * An estimate is only as good as its age: a path that was slow once (a cold JIT, a burst of cross traffic) and is
 * then left idle because of it would never be measured again. So an estimate not refreshed by an ack for
 * {@link #STALE_NS} while nothing is in flight counts as none (the path is then assumed as fast as the best fresh
 * one), and the next sample replaces it rather than being averaged with it.
 * <p>
 * Not thread-safe: used under the peer link's lock. Clock values come from the caller (tests use a fake clock).
 */
final class DeliveryRate
{
    /** How long an estimate stays valid without an ack. */
    static final long STALE_NS = 100_000_000L;

    private double rate;
    private long lastAckNs;
    private long delivered;
    private long deliveredNs;

    /**
     * Notes a send; afterwards {@link #delivered()} and {@link #deliveredNs()} are what the chunk must carry to
     * its {@link #onAck}.
     *
     * @param nowNs             the time now.
     * @param othersOutstanding whether chunks sent earlier on the path still await their acks.
     */
    void onSend(final long nowNs, final boolean othersOutstanding)
    {
        if (!othersOutstanding)
        {
            deliveredNs = nowNs;
        }
    }

    /**
     * @return bytes delivered on the path so far.
     */
    long delivered()
    {
        return delivered;
    }

    /**
     * @return when the latest delivery (or the send that restarted the clock) happened.
     */
    long deliveredNs()
    {
        return deliveredNs;
    }

    /**
     * Records an ack.
     *
     * @param nowNs            when it arrived.
     * @param bytes            the acknowledged chunk's bytes.
     * @param deliveredAtSend  {@link #delivered()} when that chunk was sent.
     * @param deliveredNsAtSend {@link #deliveredNs()} when that chunk was sent.
     */
    void onAck(final long nowNs, final long bytes, final long deliveredAtSend, final long deliveredNsAtSend)
    {
        final boolean fresh = 0 != lastAckNs && nowNs - lastAckNs <= STALE_NS;
        delivered += bytes;
        final long interval = nowNs - deliveredNsAtSend;
        if (interval > 0)
        {
            final double sample = (double)(delivered - deliveredAtSend) / interval;
            rate = 0 == rate || !fresh ? sample : rate + (sample - rate) / 8;
        }
        lastAckNs = nowNs;
        deliveredNs = nowNs;
    }

    /**
     * @param nowNs         the time now.
     * @param bytesInFlight the path's unacknowledged bytes (a path with bytes in flight is being measured).
     * @return the estimate in bytes per nanosecond, or 0 when there is none or it went stale.
     */
    double rate(final long nowNs, final long bytesInFlight)
    {
        return 0 == bytesInFlight && nowNs - lastAckNs > STALE_NS ? 0 : rate;
    }

    /**
     * How far the chunk now on its way has likely got: the estimate times the time since the latest delivery (or
     * the send that restarted the clock), so that a path halfway through a chunk is not judged as if it had not
     * begun it.
     *
     * @param nowNs         the time now.
     * @param bytesInFlight the path's unacknowledged bytes.
     * @param cap           the most it can be: the oldest written chunk's bytes (chunks on one connection land one
     *                      after another, and that chunk's ack would have come).
     * @return the bytes; 0 without an estimate or with nothing in flight.
     */
    long deliveredSinceLatest(final long nowNs, final long bytesInFlight, final long cap)
    {
        final double r = rate(nowNs, bytesInFlight);
        if (0 == bytesInFlight || r <= 0 || nowNs <= deliveredNs)
        {
            return 0;
        }
        return (long)Math.min(cap, r * (nowNs - deliveredNs));
    }
}
