package io.ferry;

import java.util.List;
import java.util.function.Consumer;

/**
 * An agent's {@link AgentObserver}s: tells each of them what happened, so that one that throws costs a log line,
 * not the caller (a backend's thread, a transfer's completion). Immutable; no lock.
 */
final class Observers
{
    private static final System.Logger LOG = System.getLogger(Observers.class.getName());

    private final String agent;
    private final List<AgentObserver> observers;

    Observers(final String agent, final List<AgentObserver> observers)
    {
        this.agent = agent;
        this.observers = List.copyOf(observers);
    }

    /** @return true when there is at least one observer (callers skip building events otherwise). */
    boolean any()
    {
        return !observers.isEmpty();
    }

    void transferEnded(final Transfer t, final long nanos, final FerryException error)
    {
        if (any())
        {
            final AgentObserver.TransferEvent e = new AgentObserver.TransferEvent(agent, t.backend(), t.peer(), t.op(),
                t.totalBytes(), t.descriptorCount(), nanos, null == error ? null : error.code());
            each(o -> o.onTransferEnd(e));
        }
    }

    void peerLost(final String peer, final String reason)
    {
        if (any())
        {
            each(o -> o.onPeerLost(agent, peer, reason));
        }
    }

    void notification(final Notification n)
    {
        if (any())
        {
            each(o -> o.onNotification(agent, n));
        }
    }

    private void each(final Consumer<AgentObserver> call)
    {
        for (final AgentObserver o : observers)
        {
            try
            {
                call.accept(o);
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.WARNING, "observer " + o + " of agent " + agent + " failed", ex);
            }
        }
    }
}
