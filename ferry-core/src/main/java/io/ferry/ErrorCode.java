package io.ferry;

/**
 * What went wrong, mirroring NIXL's {@code nixl_status_t} error values (same names, same order), plus
 * {@link #TIMED_OUT} for waits that reached their deadline.
 */
public enum ErrorCode
{
    /** A transfer was asked for a result before it was posted. */
    NOT_POSTED(-1),
    /** An argument is malformed or out of range; the message names which. */
    INVALID_PARAM(-2),
    /** A backend failed (I/O error, native error, no backend able to do the work). */
    BACKEND(-3),
    /** Something named is not there: a peer's metadata, a registration, a backend. */
    NOT_FOUND(-4),
    /** Bytes could not be decoded: metadata or descriptors that are corrupt or of another version. */
    MISMATCH(-5),
    /** The request contradicts what is already known (changed connection info, closed object). */
    NOT_ALLOWED(-6),
    /** A transfer that is still in progress was posted again. */
    REPOST_ACTIVE(-7),
    /** An error that fits no other code. */
    UNKNOWN(-8),
    /** The operation is not supported by the backend or memory kind. */
    NOT_SUPPORTED(-9),
    /** The peer went away (process died, connection lost, agent closed). */
    REMOTE_DISCONNECT(-10),
    /** The operation was cancelled (aborted transfer, closed agent). */
    CANCELED(-11),
    /** No telemetry is available (yet) for the transfer. */
    NO_TELEMETRY(-12),
    /** A wait reached its deadline. The operation itself may still complete later. */
    TIMED_OUT(-13);

    private final int nixlStatus;

    ErrorCode(final int nixlStatus)
    {
        this.nixlStatus = nixlStatus;
    }

    /**
     * The numeric value NIXL uses for the same status, for logs and cross-language tooling.
     *
     * @return the negative status value.
     */
    public int nixlStatus()
    {
        return nixlStatus;
    }
}
