package io.ferry.connect;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.Notification;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * Application messages that reached a connector, with the peers it lost (until they are heard from again), so that a
 * wait for a lost peer's message ends at once instead of at its deadline.
 */
final class Inbox
{
    private static final int MAX_QUEUED = 1 << 16;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Notification> queue = new ArrayDeque<>();
    private final Map<String, String> lost = new HashMap<>();
    private boolean closed;

    void add(final Notification n)
    {
        lock.lock();
        try
        {
            if (queue.size() >= MAX_QUEUED)
            {
                System.getLogger(Inbox.class.getName()).log(System.Logger.Level.WARNING, "connector inbox full (" +
                    MAX_QUEUED + " messages nobody took); dropping the oldest from " + queue.peekFirst().sender());
                queue.pollFirst();
            }
            queue.addLast(n);
            changed.signalAll();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** A peer was heard from: it is no longer counted as lost. */
    void seen(final String peer)
    {
        lock.lock();
        try
        {
            lost.remove(peer);
        }
        finally
        {
            lock.unlock();
        }
    }

    void peerLost(final String peer, final String reason)
    {
        lock.lock();
        try
        {
            lost.put(peer, reason);
            changed.signalAll();
        }
        finally
        {
            lock.unlock();
        }
    }

    void close()
    {
        lock.lock();
        try
        {
            closed = true;
            changed.signalAll();
        }
        finally
        {
            lock.unlock();
        }
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
        final long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        lock.lock();
        try
        {
            while (true)
            {
                for (final Iterator<Notification> it = queue.iterator(); it.hasNext(); )
                {
                    final Notification n = it.next();
                    if ((null == from || from.equals(n.sender())) && match.test(n))
                    {
                        it.remove();
                        return n;
                    }
                }
                if (null != from)
                {
                    final String reason = lost.get(from);
                    if (null != reason)
                    {
                        throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "connector " + owner + " lost peer " +
                            from + " and has no matching message from it: " + reason);
                    }
                }
                if (closed)
                {
                    throw new FerryException(ErrorCode.CANCELED, "connector " + owner + " was closed");
                }
                final long left = deadline - System.nanoTime();
                if (left <= 0)
                {
                    throw new FerryException(ErrorCode.TIMED_OUT, "connector " + owner + ": no matching message" +
                        (null != from ? " from " + from : "") + " within " + timeout);
                }
                changed.await(left, TimeUnit.NANOSECONDS);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for a message", ex);
        }
        finally
        {
            lock.unlock();
        }
    }
}
