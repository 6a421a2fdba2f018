package io.ferry.tcp;

import io.ferry.TransferOp;

import java.util.ArrayDeque;

/**
 * One path as the {@link LinkScheduler} sees it: the chunks assigned to it and not yet written, those written and
 * not yet answered, its congestion window and, per direction, its delivery-rate estimate. No sockets and no threads:
 * {@link TcpPath} adds those. Guarded by the link's lock; clock values come from the caller.
 * <p>
 * The two directions are measured apart: WRITE chunks by their acknowledgements, READ sub-requests by their
 * replies (the data flow the other way, and cross-traffic in one direction need not slow the other).
 */
class PathState
{
    /** The path's slot in its link (path i binds {@code local_addresses[i % n]}). */
    final int index;
    /** How many times this path index was connected, this connection included. */
    final int generation;
    final CongestionController controller;
    final ArrayDeque<Chunk> sendQueue = new ArrayDeque<>();
    final ArrayDeque<Chunk> unacked = new ArrayDeque<>();
    /** Set when chunks were queued for the path; its owner wakes the path's writer and clears it. */
    boolean signalPending;
    long inflightBytes;
    long bytesAcked;
    /** When this path last had a chunk acknowledged or a READ answered (0: never). */
    long lastReplyNs;
    volatile boolean dead;

    private final DeliveryRate writeRate = new DeliveryRate();
    private final DeliveryRate readRate = new DeliveryRate();
    private long writeInflight;
    private long readInflight;
    private int writesOutstanding;
    private int readsOutstanding;

    PathState(final int index, final int generation, final CongestionController controller)
    {
        this.index = index;
        this.generation = generation;
        this.controller = controller;
    }

    /** A chunk was assigned to this path. */
    void assign(final Chunk c)
    {
        sendQueue.addLast(c);
        unacked.addLast(c);
        inflightBytes += c.bytes;
        if (isRead(c))
        {
            readInflight += c.bytes;
        }
        else
        {
            writeInflight += c.bytes;
        }
        signalPending = true;
    }

    /** A chunk of this path leaves its queue to be written. */
    void onSent(final long nowNs, final Chunk c)
    {
        c.sentNs = nowNs;
        if (0 == c.firstSentNs)
        {
            c.firstSentNs = nowNs;
        }
        if (0 == c.bytes)
        {
            return; // a notification or FENCE: nothing to measure
        }
        final boolean read = isRead(c);
        final DeliveryRate rate = read ? readRate : writeRate;
        rate.onSend(nowNs, (read ? readsOutstanding : writesOutstanding) > 0);
        if (read)
        {
            readsOutstanding++;
        }
        else
        {
            writesOutstanding++;
        }
        c.deliveredAtSend = rate.delivered();
        c.deliveredNsAtSend = rate.deliveredNs();
    }

    /**
     * A chunk leaves this path's books (answered, moved or dropped).
     *
     * @param c       the chunk, removed from {@link #unacked} by the caller.
     * @param written whether it had been written ({@link #onSent} was called).
     */
    void release(final Chunk c, final boolean written)
    {
        inflightBytes -= c.bytes;
        final boolean read = isRead(c);
        if (read)
        {
            readInflight -= c.bytes;
        }
        else
        {
            writeInflight -= c.bytes;
        }
        if (written && 0 != c.bytes)
        {
            if (read)
            {
                readsOutstanding--;
            }
            else
            {
                writesOutstanding--;
            }
        }
    }

    /** The delivery-rate sample and window update of a chunk answered OK (after {@link #release}). */
    void onDelivered(final long nowNs, final Chunk c)
    {
        controller.onAck(nowNs, nowNs - c.sentNs, c.bytes);
        bytesAcked += c.bytes;
        (isRead(c) ? readRate : writeRate).onAck(nowNs, c.bytes, c.deliveredAtSend, c.deliveredNsAtSend);
    }

    /**
     * @param nowNs the time now.
     * @param read  which direction: READ replies or WRITE acknowledgements.
     * @return that direction's delivery-rate estimate in bytes per nanosecond; 0 when it has none (or a stale one).
     */
    double deliveryRate(final long nowNs, final boolean read)
    {
        return read ? readRate.rate(nowNs, readInflight) : writeRate.rate(nowNs, writeInflight);
    }

    /**
     * @param nowNs       the time now.
     * @param c           a chunk to place.
     * @param defaultRate the rate to assume while this path has no (fresh) estimate for the chunk's direction.
     * @return when the chunk, given to this path now, is expected to be delivered, in nanoseconds from now: the bytes
     * of its direction still to deliver (those in flight, less what the oldest written chunk has likely delivered
     * already) plus the chunk, over the rate.
     */
    double expectedCompletionNs(final long nowNs, final Chunk c, final double defaultRate)
    {
        final boolean read = isRead(c);
        final DeliveryRate estimate = read ? readRate : writeRate;
        final long inflight = read ? readInflight : writeInflight;
        final double rate = estimate.rate(nowNs, inflight);
        final Chunk oldest = oldestSent(read);
        final long left = inflight - (null == oldest ? 0 : estimate.deliveredSinceLatest(nowNs, inflight, oldest.bytes));
        return (left + c.bytes) / (rate > 0 ? rate : defaultRate);
    }

    boolean hasRoomFor(final Chunk c)
    {
        return 0 == inflightBytes || inflightBytes + c.bytes <= controller.windowBytes();
    }

    /** Oldest chunk that was written and is still unanswered, or null. */
    Chunk oldestSent()
    {
        final Chunk c = unacked.peekFirst();
        return null != c && 0 != c.sentNs ? c : null;
    }

    /** Oldest written, unanswered data chunk of one direction, or null. */
    private Chunk oldestSent(final boolean read)
    {
        for (final Chunk c : unacked)
        {
            if (0 == c.sentNs)
            {
                return null;
            }
            if (0 != c.bytes && isRead(c) == read)
            {
                return c;
            }
        }
        return null;
    }

    /** Empties the path's books (it died): the caller has taken its chunks. */
    void clear()
    {
        unacked.clear();
        sendQueue.clear();
        inflightBytes = 0;
        writeInflight = 0;
        readInflight = 0;
        writesOutstanding = 0;
        readsOutstanding = 0;
    }

    /** @return whether a chunk is a READ sub-request (its data come back on the reply). */
    static boolean isRead(final Chunk c)
    {
        return null != c.request && !c.isNotification() && TransferOp.READ == c.request.op;
    }

    public String toString()
    {
        return "path " + index;
    }
}
