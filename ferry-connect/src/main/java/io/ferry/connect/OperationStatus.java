package io.ferry.connect;

/**
 * Where an {@link Operation} stands (Dynamo's {@code OperationStatus}).
 */
public enum OperationStatus
{
    /** Made; the passive side waits for a peer, the active side has not posted yet. */
    INITIALIZED,
    /** Bytes are moving (the passive side heard the peer begin). */
    IN_PROGRESS,
    /** Every byte arrived; terminal. */
    COMPLETE,
    /** Cancelled by this side; terminal. */
    CANCELLED,
    /** Failed: the transfer failed, the peer reported a failure or cancelled, or the peer was lost; terminal. */
    ERRORED;

    /**
     * @return true for COMPLETE, CANCELLED and ERRORED.
     */
    public boolean isTerminal()
    {
        return this == COMPLETE || this == CANCELLED || this == ERRORED;
    }
}
