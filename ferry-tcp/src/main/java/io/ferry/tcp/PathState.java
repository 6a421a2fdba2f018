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
    long bytesAcked;
    /** When this path last had a chunk acknowledged or a READ answered (0: never). */
    long lastReplyNs;
    volatile boolean dead;

    /** One direction's books: its delivery-rate estimate, its bytes in flight, its data chunks written. */
    private static final class Direction
    {
        final DeliveryRate rate = new DeliveryRate();
        long inflight;
        int outstanding;

        void reset()
        {
            inflight = 0;
            outstanding = 0;
        }
    }

    private final Direction writes = new Direction();
    private final Direction reads = new Direction();

    PathState(final int index, final int generation, final CongestionController controller)
    {
        this.index = index;
        this.generation = generation;
        this.controller = controller;
    }

    private Direction of(final Chunk c)
    {
        return isRead(c) ? reads : writes;
    }

    /** @return the bytes assigned to this path and not yet answered, both directions (what its window holds). */
    long inflightBytes()
    {
        return writes.inflight + reads.inflight;
    }

    /** A chunk was assigned to this path. */
    void assign(final Chunk c)
    {
        sendQueue.addLast(c);
        unacked.addLast(c);
        of(c).inflight += c.bytes;
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
        final Direction d = of(c);
        d.rate.onSend(nowNs, d.outstanding > 0);
        d.outstanding++;
        c.deliveredAtSend = d.rate.delivered();
        c.deliveredNsAtSend = d.rate.deliveredNs();
    }

    /**
     * @return the written, unanswered chunk of {@code id} on this path, or null.
     */
    Chunk findUnacked(final long id)
    {
        for (final Chunk c : unacked)
        {
            if (c.id == id)
            {
                return 0 != c.sentNs ? c : null;
            }
        }
        return null;
    }

    /**
     * Takes a written chunk off this path's books (it was answered, or the peer refused it).
     *
     * @param c a chunk of {@link #unacked} that was written ({@link #onSent} was called).
     */
    void take(final Chunk c)
    {
        unacked.remove(c);
        final Direction d = of(c);
        d.inflight -= c.bytes;
        if (0 != c.bytes)
        {
            d.outstanding--;
        }
    }

    /** The delivery-rate sample and window update of a chunk answered OK (after {@link #take}). */
    void onDelivered(final long nowNs, final Chunk c)
    {
        controller.onAck(nowNs, nowNs - c.sentNs, c.bytes);
        bytesAcked += c.bytes;
        of(c).rate.onAck(nowNs, c.bytes, c.deliveredAtSend, c.deliveredNsAtSend);
    }

    /**
     * @param nowNs the time now.
     * @param read  which direction: READ replies or WRITE acknowledgements.
     * @return that direction's delivery-rate estimate in bytes per nanosecond; 0 when it has none (or a stale one).
     */
    double deliveryRate(final long nowNs, final boolean read)
    {
        final Direction d = read ? reads : writes;
        return d.rate.rate(nowNs, d.inflight);
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
        final Direction d = read ? reads : writes;
        final double rate = d.rate.rate(nowNs, d.inflight);
        final Chunk oldest = oldestSent(read);
        final long left = d.inflight - (null == oldest ? 0 : d.rate.deliveredSinceLatest(nowNs, d.inflight,
            oldest.bytes));
        return (left + c.bytes) / (rate > 0 ? rate : defaultRate);
    }

    boolean hasRoomFor(final Chunk c)
    {
        final long inflight = inflightBytes();
        return 0 == inflight || inflight + c.bytes <= controller.windowBytes();
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
        writes.reset();
        reads.reset();
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
