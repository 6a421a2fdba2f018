package io.ferry;

/**
 * Sees what an agent does, for metrics and tracing ({@code ferry-metrics} implements one for Prometheus). Given to
 * {@link AgentConfig.Builder#observer(AgentObserver)}. Called on backend and application threads: implementations
 * must be thread-safe and quick; an exception thrown here is logged and ignored.
 */
public interface AgentObserver
{
    /**
     * A post of a transfer ended.
     *
     * @param event what moved, where, how long, and how it ended.
     */
    default void onTransferEnd(TransferEvent event)
    {
    }

    /**
     * A notification reached the agent.
     *
     * @param agent        the receiving agent.
     * @param notification the notification.
     */
    default void onNotification(String agent, Notification notification)
    {
    }

    /**
     * A peer was lost: a transfer to it failed because it could not be reached, or every connection it had opened
     * to this agent closed (its process ended or its agent closed). Waiters for that peer's work use this to end
     * early instead of at their deadline.
     *
     * @param agent  the agent that lost the peer.
     * @param peer   the lost peer.
     * @param reason why.
     */
    default void onPeerLost(String agent, String peer, String reason)
    {
    }

    /**
     * One ended post of a transfer.
     *
     * @param agent       the initiating agent.
     * @param backend     the backend that moved the bytes.
     * @param peer        the target agent.
     * @param op          READ or WRITE.
     * @param bytes       bytes of the transfer.
     * @param descriptors descriptors after merging.
     * @param nanos       time from post to the end.
     * @param error       why it failed, or null when it completed.
     */
    record TransferEvent(String agent, String backend, String peer, TransferOp op, long bytes, int descriptors,
        long nanos, ErrorCode error)
    {
    }
}
