package io.ferry.internal;

import io.ferry.FerryException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Items in arrival order until someone takes them: drained all at once, or waited for one that matches, with a
 * deadline. Bounded by count and by weight (bytes): beyond either bound the oldest items are dropped and handed back
 * to the caller of {@link #add}, so that a peer that sends faster than the application takes cannot grow it without
 * end. The agent's notifications and the connector's inbox are both this type. Thread-safe.
 *
 * @param <T> the item type.
 */
public final class MatchQueue<T>
{
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<T> queue = new ArrayDeque<>();
    private final int maxItems;
    private final long maxWeight;
    private final ToLongFunction<? super T> weigher;
    private long weight;
    private boolean closed;

    /**
     * @param maxItems  most items held.
     * @param maxWeight most weight held (the sum of {@code weigher} over the items).
     * @param weigher   an item's weight (e.g. its payload bytes).
     */
    public MatchQueue(final int maxItems, final long maxWeight, final ToLongFunction<? super T> weigher)
    {
        if (maxItems < 1 || maxWeight < 1)
        {
            throw new IllegalArgumentException("bounds must be positive");
        }
        this.maxItems = maxItems;
        this.maxWeight = maxWeight;
        this.weigher = weigher;
    }

    /**
     * Adds an item (nothing once closed) and wakes the waiters.
     *
     * @param item the item.
     * @return the oldest items dropped to make room for it (empty when none): the caller says so.
     */
    public List<T> add(final T item)
    {
        List<T> dropped = List.of();
        lock.lock();
        try
        {
            if (closed)
            {
                return dropped;
            }
            queue.addLast(item);
            weight += weigher.applyAsLong(item);
            while (queue.size() > 1 && (queue.size() > maxItems || weight > maxWeight))
            {
                final T old = queue.pollFirst();
                weight -= weigher.applyAsLong(old);
                if (dropped.isEmpty())
                {
                    dropped = new ArrayList<>();
                }
                dropped.add(old);
            }
            changed.signalAll();
            return dropped;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** @return every item, oldest first, now taken out. */
    public List<T> drain()
    {
        lock.lock();
        try
        {
            final List<T> out = new ArrayList<>(queue);
            queue.clear();
            weight = 0;
            return out;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** @return the items held. */
    public int size()
    {
        lock.lock();
        try
        {
            return queue.size();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Wakes the waiters so that they look at their abort condition again (something it reads changed). */
    public void signal()
    {
        lock.lock();
        try
        {
            changed.signalAll();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Refuses new items and ends every wait. */
    public void close()
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
     * Takes the oldest item that matches, waiting for one until the deadline. In each round: a matching item is
     * taken; else the abort condition, then closing, then the deadline end the wait with their error.
     *
     * @param match    which item.
     * @param timeout  the most to wait.
     * @param abort    an error to end the wait with now (e.g. the peer waited on was lost), or null; read under the
     *                 queue's lock, so whoever changes what it reads calls {@link #signal()} after.
     * @param onClosed the error when the queue is closed.
     * @param onTimeout the error at the deadline, given how many other items are held.
     * @return the item.
     * @throws FerryException from {@code abort}, {@code onClosed}, {@code onTimeout}, or CANCELED when interrupted.
     */
    public T await(final Predicate<? super T> match, final Duration timeout, final Supplier<FerryException> abort,
        final Supplier<FerryException> onClosed, final IntFunction<FerryException> onTimeout)
    {
        final long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        lock.lock();
        try
        {
            while (true)
            {
                for (final Iterator<T> it = queue.iterator(); it.hasNext(); )
                {
                    final T item = it.next();
                    if (match.test(item))
                    {
                        it.remove();
                        weight -= weigher.applyAsLong(item);
                        return item;
                    }
                }
                final FerryException aborted = null == abort ? null : abort.get();
                if (null != aborted)
                {
                    throw aborted;
                }
                if (closed)
                {
                    throw onClosed.get();
                }
                final long left = deadline - System.nanoTime();
                if (left <= 0)
                {
                    throw onTimeout.apply(queue.size());
                }
                changed.awaitNanos(left);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(io.ferry.ErrorCode.CANCELED, "interrupted while waiting", ex);
        }
        finally
        {
            lock.unlock();
        }
    }
}
