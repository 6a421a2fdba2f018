package io.ferry;

import io.ferry.internal.LogThrottle;
import io.ferry.internal.MatchQueue;

import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/**
 * Notifications that arrived for an agent, in arrival order, until the application takes them. Backends add from
 * their threads; applications drain or wait with a deadline. Bounded: at most {@link #MAX_QUEUED} notifications or
 * {@link #MAX_QUEUED_BYTES} of payload wait; beyond, the oldest are dropped and logged, so that a peer cannot grow an
 * agent that never takes its notifications without end.
 */
final class NotificationQueue
{
    /** Most notifications held. */
    static final int MAX_QUEUED = 1 << 16;
    /** Most payload bytes held. */
    static final long MAX_QUEUED_BYTES = 256L << 20;
    private static final System.Logger LOG = System.getLogger(NotificationQueue.class.getName());

    private final MatchQueue<Notification> queue = new MatchQueue<>(MAX_QUEUED, MAX_QUEUED_BYTES,
        n -> n.payload().length + 64L);
    private final LogThrottle dropLog = new LogThrottle(1, 10_000_000_000L);

    void add(final Notification n, final String agentName)
    {
        final List<Notification> dropped = queue.add(n);
        if (!dropped.isEmpty())
        {
            final long held = dropLog.admit(System.nanoTime());
            if (held >= 0)
            {
                LOG.log(System.Logger.Level.WARNING, "agent '" + agentName + "' dropped " + (dropped.size() + held) +
                    " notification(s) nobody took (at most " + MAX_QUEUED + " or " + (MAX_QUEUED_BYTES >> 20) +
                    " MiB wait), the first from '" + dropped.getFirst().sender() + "'");
            }
        }
    }

    List<Notification> drain()
    {
        return queue.drain();
    }

    Notification await(final Predicate<Notification> match, final Duration timeout, final String agentName)
    {
        return queue.await(match, timeout, null,
            () -> new FerryException(ErrorCode.CANCELED, "agent '" + agentName + "' was closed while waiting for a " +
                "notification"),
            others -> new FerryException(ErrorCode.TIMED_OUT, "no matching notification reached agent '" +
                agentName + "' within " + timeout + " (" + others + " others are queued)"));
    }

    void close()
    {
        queue.close();
    }
}
