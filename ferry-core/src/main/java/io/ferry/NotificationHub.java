package io.ferry;

import io.ferry.spi.BackendContext;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Where backends reach the agent ({@link BackendContext}) and where notifications meet the application: what
 * arrives is queued ({@link NotificationQueue}) and shown to the observers; a peer a backend lost is dropped from
 * the {@link PeerDirectory}; {@link #send} picks the backend that notifies a peer. The directory is attached once
 * the backends exist, because the backends are made with this context.
 */
final class NotificationHub implements BackendContext
{
    private final AgentConfig config;
    private final String name;
    private final Observers observers;
    private final NotificationQueue queue = new NotificationQueue();
    private volatile PeerDirectory peerDirectory;
    private BackendSet backendSet;

    NotificationHub(final AgentConfig config, final Observers observers)
    {
        this.config = config;
        this.name = config.name();
        this.observers = observers;
    }

    void attach(final BackendSet backendSet, final PeerDirectory peerDirectory)
    {
        this.backendSet = backendSet;
        this.peerDirectory = peerDirectory;
    }

    // ------------------------------------------------------------------------------------------ the application's side

    void send(final String peer, final byte[] payload)
    {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(payload, "payload");
        final long mask = name.equals(peer) ? backendSet.localMask & backendSet.notificationMask :
            peerDirectory.require(peer).reachableMask & backendSet.notificationMask;
        if (0 == mask)
        {
            throw new FerryException(ErrorCode.BACKEND, "no backend of agent '" + name +
                "' delivers notifications to '" + peer + "'");
        }
        backendSet.backends[Long.numberOfTrailingZeros(mask)].sendNotification(peer, payload.clone());
    }

    List<Notification> drain()
    {
        return queue.drain();
    }

    Notification await(final Predicate<Notification> match, final Duration timeout)
    {
        Objects.requireNonNull(match, "match");
        Objects.requireNonNull(timeout, "timeout");
        return queue.await(match, timeout, name);
    }

    /** Wakes every waiter with CANCELED. */
    void close()
    {
        queue.close();
    }

    // ------------------------------------------------------------------------------------------ the backends' side

    public String agentName()
    {
        return name;
    }

    public Duration defaultTimeout()
    {
        return config.defaultTimeout();
    }

    public void deliverNotification(final String sender, final byte[] payload)
    {
        deliver(new Notification(sender, payload));
    }

    public void deliverFailureNotification(final String sender, final byte[] payload, final String reason)
    {
        deliver(new Notification(sender, payload, null == reason ? "unknown" : reason));
    }

    private void deliver(final Notification n)
    {
        queue.add(n, name);
        observers.notification(n);
    }

    public void peerDisconnected(final String peer, final String reason)
    {
        final PeerDirectory directory = peerDirectory;
        if (null != directory && null != directory.drop(peer))
        {
            // a peer going away is routine (it shut down); transfers it breaks report their own errors
            Agent.LOG.log(System.Logger.Level.INFO, "agent " + name + " lost peer " + peer + ": " + reason +
                "; its metadata was dropped");
        }
        observers.peerLost(peer, reason);
    }

    public void peerConnectionsLost(final String peer, final String reason)
    {
        Agent.LOG.log(System.Logger.Level.DEBUG, () -> "agent " + name + ": every connection from " + peer +
            " closed: " + reason);
        observers.peerLost(peer, reason);
    }
}
