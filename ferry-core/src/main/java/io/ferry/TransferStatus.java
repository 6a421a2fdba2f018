package io.ferry;

/**
 * Where a {@link Transfer} stands: {@code NOT_POSTED → IN_PROGRESS → DONE | FAILED}; a transfer that ended may be
 * posted again.
 */
public enum TransferStatus
{
    /** Made, never posted. */
    NOT_POSTED,
    /** Posted and not finished. */
    IN_PROGRESS,
    /** Every byte is in place at the destination (for WRITE: the target has it; for READ: the initiator has it). */
    DONE,
    /** Ended with an error; {@link Transfer#error()} says which. */
    FAILED;

    /**
     * @return true when the transfer is not in progress and may be posted again.
     */
    public boolean isTerminal()
    {
        return this == DONE || this == FAILED;
    }
}
