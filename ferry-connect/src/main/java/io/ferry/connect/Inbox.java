package io.ferry.connect;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.Notification;
import io.ferry.internal.MatchQueue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Application messages that reached a connector, with the peers it lost (until they are heard from again), so that a
 * wait for a lost peer's message ends at once instead of at its deadline. At most {@link #MAX_QUEUED} messages (or
 * 256 MiB) wait; beyond, the oldest are dropped and logged.
 */
final class Inbox
{
    private static final int MAX_QUEUED = 1 << 16;

    private final MatchQueue<Notification> queue = new MatchQueue<>(MAX_QUEUED, 256L << 20,
        n -> n.payload().length + 64L);
    private final Map<String, String> lost = new ConcurrentHashMap<>();

    void add(final Notification n)
    {
        final List<Notification> dropped = queue.add(n);
        if (!dropped.isEmpty())
        {
            System.getLogger(Inbox.class.getName()).log(System.Logger.Level.WARNING, "connector inbox full (" +
                MAX_QUEUED + " messages nobody took); dropped " + dropped.size() + ", the oldest from " +
                dropped.getFirst().sender());
        }
    }

    /** A peer was heard from: it is no longer counted as lost. */
    void seen(final String peer)
    {
        lost.remove(peer);
    }

    void peerLost(final String peer, final String reason)
    {
        lost.put(peer, reason);
        queue.signal(); // waiters for its messages look again
    }

    void close()
    {
        queue.close();
    }

    /**
     * Takes the first message that matches.
     *
     * @param from    only messages from this peer, and fail when it is lost during the wait; null for any peer.
     * @param match   which message.
     * @param timeout the most to wait.
     * @param owner   the connector's name, for errors.
     * @return the message.
     */
    Notification await(final String from, final Predicate<Notification> match, final Duration timeout,
        final String owner)
    {
        return queue.await(n -> (null == from || from.equals(n.sender())) && match.test(n), timeout,
            () ->
            {
                final String reason = null == from ? null : lost.get(from);
                return null == reason ? null : new FerryException(ErrorCode.REMOTE_DISCONNECT, "connector " + owner +
                    " lost peer " + from + " and has no matching message from it: " + reason);
            },
            () -> new FerryException(ErrorCode.CANCELED, "connector " + owner + " was closed"),
            others -> new FerryException(ErrorCode.TIMED_OUT, "connector " + owner + ": no matching message" +
                (null != from ? " from " + from : "") + " within " + timeout));
    }
}
