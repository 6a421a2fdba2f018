package io.ferry.spi;

import io.ferry.MemoryKind;
import io.ferry.TransferOp;

import java.util.Set;

/**
 * A running transport created for one agent. Methods may be called from any thread.
 */
public interface Backend extends AutoCloseable
{
    /**
     * @return the backend's name.
     */
    String name();

    /**
     * @return the memory kinds it registers and moves.
     */
    Set<MemoryKind> memoryKinds();

    /**
     * @return true when it moves bytes between different agents.
     */
    boolean supportsRemote();

    /**
     * @return true when it moves bytes between two regions of its own agent.
     */
    boolean supportsLocal();

    /**
     * @return true when it delivers notifications.
     */
    boolean supportsNotifications();

    /**
     * Registers one region; all-or-nothing.
     *
     * @param region the region.
     * @return the backend's handle to it.
     * @throws io.ferry.FerryException when the region cannot be registered, naming why.
     */
    MemoryHandle register(RegionSpec region);

    /**
     * Releases a registration; afterwards no peer can reach the region through this backend.
     *
     * @param handle what {@link #register} returned.
     */
    void deregister(MemoryHandle handle);

    /**
     * @return what a peer needs to reach this backend (published in metadata), for remote-capable backends.
     */
    byte[] connectionInfo();

    /**
     * Records a peer's connection info; must not connect.
     *
     * @param peer the peer's name.
     * @param info what the peer's backend of the same name published.
     * @return true when this backend can reach the peer, false when it cannot (another host for an in-process
     * backend, say): the agent then uses another backend for that peer.
     * @throws io.ferry.FerryException MISMATCH when the info cannot be decoded.
     */
    boolean loadRemoteConnectionInfo(String peer, byte[] info);

    /**
     * @param handle a local registration.
     * @return what a peer needs to reach the region (beyond address, length and access key), may be empty; null
     * when this backend does not serve the region to peers at all (it then stays out of the agent's metadata for
     * this backend, and peers reach it through another).
     */
    byte[] publicData(MemoryHandle handle);

    /**
     * @param region a peer's region from its metadata.
     * @return a handle to use as the remote side of transfers, or null when this backend cannot reach the region
     * from here though it reaches the peer (the agent then moves it with another backend).
     * @throws io.ferry.FerryException MISMATCH or NOT_FOUND when the public data is unusable.
     */
    MemoryHandle loadRemoteRegion(RemoteRegionSpec region);

    /**
     * @param handle a local registration.
     * @return a handle to use as the remote side of a transfer to the agent itself (loopback).
     */
    MemoryHandle loadLocalRegion(MemoryHandle handle);

    /**
     * Connects to a peer now rather than on the first transfer; may be a no-op.
     *
     * @param peer the peer's name.
     */
    void connect(String peer);

    /**
     * Forgets a peer: closes connections, drops its regions.
     *
     * @param peer the peer's name.
     */
    void disconnect(String peer);

    /**
     * Builds a request once; the agent then posts it any number of times, one post at a time.
     *
     * @param op     READ or WRITE.
     * @param local  the initiator's spans.
     * @param remote the target's spans, pairwise of equal length with {@code local}.
     * @param peer   the target agent's name (the agent's own name for loopback).
     * @param sink   where to report the end of each post.
     * @return the request.
     */
    BackendRequest prepare(TransferOp op, ResolvedDescs local, ResolvedDescs remote, String peer, TransferSink sink);

    /**
     * Starts moving bytes. Completion is reported through the request's sink, possibly before this returns.
     *
     * @param request      a prepared request that is not in progress.
     * @param notification bytes to deliver to the target after all data, or null.
     * @throws io.ferry.FerryException when the post cannot start (the sink is then not called).
     */
    void post(BackendRequest request, byte[] notification);

    /**
     * Aborts a request in progress if the backend can.
     *
     * @param request the request.
     * @return true when the request is no longer in progress (aborted or already ended), false when it cannot be
     * stopped now.
     */
    boolean abort(BackendRequest request);

    /**
     * Sends a notification on its own, unordered with respect to transfers.
     *
     * @param peer    the peer's name (the agent's own name to notify itself).
     * @param payload the message.
     */
    void sendNotification(String peer, byte[] payload);

    /**
     * @return the state of its connections to peers, for diagnostics (none for backends without connections).
     */
    default java.util.List<io.ferry.PathStats> pathStats()
    {
        return java.util.List.of();
    }

    /**
     * How long a thread waiting for one of this backend's transfers should spin before it parks: parking and
     * waking cost tens of microseconds, which matters when the transfer itself takes about as long. The default
     * spins up to 50 µs for transfers of at most 64 KiB (a network round trip) and not at all for larger ones,
     * whose bytes the CPU moves; a backend whose copies run elsewhere (a GPU's copy engines) may spin longer.
     *
     * @param bytes the transfer's size.
     * @return nanoseconds to spin.
     */
    default long awaitSpinNanos(long bytes)
    {
        return bytes <= 64 * 1024 ? 50_000 : 0;
    }

    /**
     * Stops the backend's threads and releases its resources. Requests in progress fail with CANCELED.
     */
    void close();
}
