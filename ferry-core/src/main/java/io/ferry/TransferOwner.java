package io.ferry;

import java.time.Duration;
import java.time.Instant;

/**
 * What a {@link Transfer} needs of the agent that made it — and no more: whether it may still be posted, the default
 * deadline, the clock for telemetry, the observers, and the news that its peer is gone. {@link Agent} is the one
 * implementation; a transfer never reaches the rest of the agent.
 */
interface TransferOwner
{
    /** @return the agent's name, for messages. */
    String name();

    /** @return the deadline of an {@code await()} given none. */
    Duration defaultTimeout();

    /**
     * Refuses a post whose peer or local memory changed since the transfer was made.
     *
     * @throws FerryException CANCELED when the agent is closed; NOT_FOUND when the peer was invalidated or reloaded,
     *                        or a local region was deregistered.
     */
    void checkPostable(Transfer transfer, PreparedList remote, LocalRegion[] touched, long epoch);

    /** @return the wall-clock instant of a {@link System#nanoTime()} reading. */
    Instant instantOf(long nanoTime);

    /** @return whether any observer listens (so that a transfer skips the call when none does). */
    boolean observed();

    /** Tells the observers a transfer ended ({@code error} null on success). */
    void observeTransfer(Transfer transfer, long nanos, FerryException error);

    /** The transfer's backend lost its peer: the agent drops the peer if it is still the one the transfer knew. */
    void peerDisconnected(PreparedList remote, String reason);
}
