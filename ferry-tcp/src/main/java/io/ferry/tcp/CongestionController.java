package io.ferry.tcp;

/**
 * Decides how many bytes one path may have unacknowledged. Driven by the caller's clock (nanoseconds), so tests
 * step it with a fake one. Not thread-safe: its path's lock guards it.
 */
public interface CongestionController
{
    /**
     * @return the current window in bytes.
     */
    long windowBytes();

    /**
     * A chunk was acknowledged.
     *
     * @param nowNs       the time of the ack.
     * @param rttNs       time from sending the chunk to its ack.
     * @param ackedBytes  the chunk's payload bytes.
     */
    void onAck(long nowNs, long rttNs, long ackedBytes);

    /**
     * @return the smallest RTT seen, or 0 before the first ack.
     */
    long baseRttNs();

    /**
     * @return a smoothed RTT, or 0 before the first ack.
     */
    long smoothedRttNs();
}
