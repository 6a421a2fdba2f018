package io.ferry;

import java.time.Duration;
import java.time.Instant;

/**
 * What one post of a transfer cost (NIXL's {@code nixl_xfer_telem_t}).
 *
 * @param startTime        wall-clock time of the post.
 * @param postDuration     time spent inside {@link Transfer#post()}.
 * @param transferDuration time from the post to completion.
 * @param totalBytes       bytes moved.
 * @param descriptorCount  descriptors after merging consecutive ones.
 * @param route            how the backend moved the bytes (the FILE backend: its engine and whether the I/Os went
 *                         O_DIRECT or buffered), or null when it says nothing.
 */
public record TransferTelemetry(
    Instant startTime, Duration postDuration, Duration transferDuration, long totalBytes, int descriptorCount,
    String route)
{
    /**
     * Telemetry without a route.
     *
     * @param startTime        wall-clock time of the post.
     * @param postDuration     time spent inside {@link Transfer#post()}.
     * @param transferDuration time from the post to completion.
     * @param totalBytes       bytes moved.
     * @param descriptorCount  descriptors after merging consecutive ones.
     */
    public TransferTelemetry(final Instant startTime, final Duration postDuration, final Duration transferDuration,
        final long totalBytes, final int descriptorCount)
    {
        this(startTime, postDuration, transferDuration, totalBytes, descriptorCount, null);
    }

    /**
     * @return bytes per second over the transfer duration, or 0 for an instantaneous one.
     */
    public double bytesPerSecond()
    {
        final long nanos = transferDuration.toNanos();
        return nanos <= 0 ? 0 : totalBytes * 1e9 / nanos;
    }
}
