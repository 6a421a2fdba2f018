package io.ferry;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The agent as its transfers see it ({@link TransferOwner}): whether a transfer may still be posted (agent open,
 * peer metadata of the same generation, local regions still registered), the clock for telemetry, the observers,
 * and dropping a peer a transfer's backend lost.
 */
final class TransferGate implements TransferOwner
{
    private final AgentConfig config;
    private final String name;
    private final AtomicBoolean closed;
    private final LocalRegistry registry;
    private final PeerDirectory peerDirectory;
    private final Observers observers;
    private final long nanoBase = System.nanoTime();
    private final Instant epochBase = Instant.now();

    TransferGate(final AgentConfig config, final AtomicBoolean closed, final LocalRegistry registry,
        final PeerDirectory peerDirectory, final Observers observers)
    {
        this.config = config;
        this.name = config.name();
        this.closed = closed;
        this.registry = registry;
        this.peerDirectory = peerDirectory;
        this.observers = observers;
    }

    public String name()
    {
        return name;
    }

    public Duration defaultTimeout()
    {
        return config.defaultTimeout();
    }

    public void checkPostable(final Transfer transfer, final PreparedList remote, final LocalRegion[] touched,
        final long epoch)
    {
        if (closed.get())
        {
            throw new FerryException(ErrorCode.CANCELED, "agent '" + name + "' is closed");
        }
        if (PreparedList.Side.REMOTE == remote.side)
        {
            final PeerState ps = peerDirectory.get(remote.peer);
            if (null == ps || ps.generation != remote.generation)
            {
                throw new FerryException(ErrorCode.NOT_FOUND, "metadata of peer '" + remote.peer + "' was " +
                    (null == ps ? "invalidated" : "re-loaded") + " after " + transfer + " was made; prepare it again");
            }
        }
        if (epoch != registry.epoch())
        {
            for (final LocalRegion r : touched)
            {
                if (!r.live)
                {
                    throw new FerryException(ErrorCode.NOT_FOUND, r + " of agent '" + name +
                        "' was deregistered after " + transfer + " was made");
                }
            }
        }
    }

    public Instant instantOf(final long nanoTime)
    {
        return epochBase.plusNanos(nanoTime - nanoBase);
    }

    public boolean observed()
    {
        return observers.any();
    }

    public void observeTransfer(final Transfer transfer, final long nanos, final FerryException error)
    {
        observers.transferEnded(transfer, nanos, error);
    }

    public void peerDisconnected(final PreparedList remote, final String reason)
    {
        if (PreparedList.Side.REMOTE == remote.side)
        {
            final PeerState ps = peerDirectory.get(remote.peer);
            if (null != ps && ps.generation == remote.generation && null != peerDirectory.drop(remote.peer))
            {
                Agent.LOG.log(System.Logger.Level.WARNING, "agent " + name + " lost peer " + remote.peer + ": " +
                    reason + "; its metadata was dropped");
            }
        }
    }
}
