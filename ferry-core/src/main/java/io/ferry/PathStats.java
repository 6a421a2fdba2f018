package io.ferry;

/**
 * The state of one connection ("path") of a backend to a peer, for diagnostics and metrics.
 *
 * @param backend        the backend.
 * @param peer           the peer agent.
 * @param path           the path's index.
 * @param alive          false once it broke (until it reconnects).
 * @param windowBytes    its congestion window.
 * @param inflightBytes  bytes sent and not yet acknowledged.
 * @param smoothedRttNs  smoothed round-trip time of its chunks (0 before the first).
 * @param bytesAcked     payload bytes acknowledged so far.
 * @param deliveryBytesPerSecond the path's current delivery-rate estimate (0 when it has none), from which
 *                       the backend decides which path a chunk goes to.
 */
public record PathStats(String backend, String peer, int path, boolean alive, long windowBytes, long inflightBytes,
    long smoothedRttNs, long bytesAcked, long deliveryBytesPerSecond)
{
}
