package io.ferry.connect;

import io.ferry.PreparedList;

/**
 * A peer's {@link BlockPool} as seen from this side after {@link BlockPool#attach}: its agent is loaded, its
 * blocks prepared, so reads and writes by block id cost one request each.
 */
public final class PeerPool
{
    private final BlockPool local;
    private final String peer;
    private final BlockLayout layout;
    private final PreparedList prepared;

    PeerPool(final BlockPool local, final String peer, final BlockLayout layout, final PreparedList prepared)
    {
        this.local = local;
        this.peer = peer;
        this.layout = layout;
        this.prepared = prepared;
    }

    /**
     * @return the peer's agent name.
     */
    public String peer()
    {
        return peer;
    }

    /**
     * @return the peer's layout (its block count may differ from ours).
     */
    public BlockLayout layout()
    {
        return layout;
    }

    PreparedList prepared()
    {
        return prepared;
    }

    BlockPool localPool()
    {
        return local;
    }

    /**
     * Tells the peer we are done with the blocks it holds for {@code requestId}: it frees them.
     *
     * @param requestId the lease's request id.
     */
    public void release(final String requestId)
    {
        local.connector().sendControlOrThrow(peer, ControlMessage.RELEASE, requestId);
    }

    /**
     * Extends the lease on the blocks the peer holds for {@code requestId} by its duration. If the peer no longer
     * holds them it answers, and {@link #wasExpired(String)} turns true.
     *
     * @param requestId the lease's request id.
     */
    public void heartbeat(final String requestId)
    {
        local.connector().sendControlOrThrow(peer, ControlMessage.EXTEND, requestId);
    }

    /**
     * @param requestId a lease's request id.
     * @return true once the peer reported that it no longer holds the blocks of that request (expired or
     * never held) in answer to a heartbeat.
     */
    public boolean wasExpired(final String requestId)
    {
        return local.connector().peerReportedExpired(peer, requestId);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "PeerPool{" + peer + ", " + layout + "}";
    }
}
