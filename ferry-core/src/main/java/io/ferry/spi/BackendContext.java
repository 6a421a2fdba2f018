package io.ferry.spi;

import java.time.Duration;

/**
 * What an agent offers the backends it creates.
 */
public interface BackendContext
{
    /**
     * @return the owning agent's name (the sender name of its notifications).
     */
    String agentName();

    /**
     * @return the agent's default deadline for waits.
     */
    Duration defaultTimeout();

    /**
     * Hands a notification that arrived from a peer to the agent; may be called from any thread.
     *
     * @param sender  the peer's agent name.
     * @param payload the message (not copied; the backend must not reuse the array).
     */
    void deliverNotification(String sender, byte[] payload);

    /**
     * Hands a failure notification to the agent: a peer's push with this notification payload failed.
     *
     * @param sender  the peer's agent name.
     * @param payload the notification the failed transfer carried.
     * @param reason  why it failed.
     */
    void deliverFailureNotification(String sender, byte[] payload, String reason);

    /**
     * Tells the agent that a peer can no longer be reached: the agent drops its metadata, so that later
     * transfers to it fail fast with NOT_FOUND until it is loaded again.
     *
     * @param peer   the peer's agent name.
     * @param reason why, for the log.
     */
    void peerDisconnected(String peer, String reason);

    /**
     * Tells the agent that every connection a peer had opened to it (as the initiator of transfers) has closed:
     * the peer's process ended, its agent closed, or the network between them failed. Nothing is dropped; the
     * agent passes it on to its observers, so that a side waiting for that peer's transfers can stop waiting.
     *
     * @param peer   the peer's agent name, as it authenticated itself.
     * @param reason why, for the log and observers.
     */
    void peerConnectionsLost(String peer, String reason);
}
