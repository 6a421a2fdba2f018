package io.ferry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * Notifications that arrived for an agent, in arrival order, until the application takes them. Backends add from
 * their threads; applications drain or wait with a deadline.
 */
final class NotificationQueue
{
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<Notification> queue = new ArrayDeque<>();
    private boolean closed;

    void add(final Notification n)
    {
        lock.lock();
        try
        {
            if (!closed)
            {
                queue.addLast(n);
                arrived.signalAll();
            }
        }
        finally
        {
            lock.unlock();
        }
    }

    List<Notification> drain()
    {
        lock.lock();
        try
        {
            final List<Notification> out = new ArrayList<>(queue);
            queue.clear();
            return out;
        }
        finally
        {
            lock.unlock();
        }
    }

    Notification await(final Predicate<Notification> match, final Duration timeout, final String agentName)
    {
        long remaining = timeout.toNanos();
        lock.lock();
        try
        {
            while (true)
            {
                if (closed)
                {
                    throw new FerryException(ErrorCode.CANCELED, "agent '" + agentName + "' was closed while waiting " +
                        "for a notification");
                }
                for (final Iterator<Notification> it = queue.iterator(); it.hasNext(); )
                {
                    final Notification n = it.next();
                    if (match.test(n))
                    {
                        it.remove();
                        return n;
                    }
                }
                if (remaining <= 0)
                {
                    throw new FerryException(ErrorCode.TIMED_OUT, "no matching notification reached agent '" +
                        agentName + "' within " + timeout + " (" + queue.size() + " others are queued)");
                }
                remaining = arrived.awaitNanos(remaining);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for a notification", ex);
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
            arrived.signalAll();
        }
        finally
        {
            lock.unlock();
        }
    }
}
