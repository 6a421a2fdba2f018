package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.TransferOp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Every decision of one peer link, and all of its state: which chunks wait, which path carries each WRITE chunk and
 * each READ sub-request, the windows and delivery rates (in {@link PathState}), acknowledgements and READ replies,
 * acknowledgement deadlines, moving a failed path's chunks to the others (behind a FENCE), resending on a CRC
 * mismatch, and releasing a notification only after every chunk of its request was answered.
 * <p>
 * No sockets, no threads, no clock of its own: the caller ({@link PeerLink}) holds the link's lock around every
 * call, passes the time, does the I/O, and ends requests outside the lock from the {@link Completions} a call fills.
 * Tests drive it on a fake clock.
 * <p>
 * <b>Placement.</b> Both directions place a chunk on the path expected to deliver it first, from that path's
 * delivery rate in the chunk's direction (WRITE: measured by acknowledgements; READ: by the replies that carry the
 * data) and the bytes it has still to deliver (earliest completion first, as MPTCP's ECF). A congested or slower
 * path gets its share of a transfer, not an equal one, and the paths finish together. While more waits than the
 * windows hold, a path with room within 10% of the best is used at once; at the end of the queue each chunk waits
 * for the path that finishes it first, so that no slow path is left a full window to drain. One exception, measured
 * on a 2-CPU loopback: a READ request smaller than {@code paths} whole chunks stays on the path its first chunk
 * went to (spreading a small READ's replies over several connections runs as many writer threads at the target and
 * reader threads here at once, and halved it).
 */
final class LinkScheduler
{
    private static final System.Logger LOG = System.getLogger(LinkScheduler.class.getName());
    static final int MAX_CRC_RETRIES = 3;
    /** How much later than the best path a path with room may expect to deliver and still be used at once. */
    private static final double ECT_SLACK = 1.1;

    private final String peer;
    private final String who;
    private final boolean roundRobin;
    private final long ackTimeoutNs;
    private final long idPrefix;
    private final PendingChunks pending = new PendingChunks();
    private final Set<TcpRequest> active = Collections.newSetFromMap(new IdentityHashMap<>());
    /** The connected paths; replaced whole (copy on write), so that a reader without the lock sees a whole array. */
    private volatile PathState[] paths = new PathState[0];
    private int cursor;
    private long nextId;
    private volatile boolean failed;
    private String failure;

    /**
     * @param peer           the peer's name, for messages.
     * @param who            this side's name for messages ("TCP agent a").
     * @param roundRobin     whether chunks go round-robin (else by expected completion).
     * @param ackTimeoutMs   how long a chunk may wait for its answer from its first write.
     * @param idPrefix       the high bits of every chunk id this link assigns.
     */
    LinkScheduler(final String peer, final String who, final boolean roundRobin, final long ackTimeoutMs,
        final long idPrefix)
    {
        this.peer = peer;
        this.who = who;
        this.roundRobin = roundRobin;
        this.ackTimeoutNs = ackTimeoutMs * 1_000_000L;
        this.idPrefix = idPrefix;
    }

    // ---------------------------------------------------------------- paths

    /** @return the connected paths (a snapshot; readable without the lock). */
    PathState[] paths()
    {
        return paths;
    }

    /** Adds connected paths and hands them waiting chunks. */
    void install(final List<? extends PathState> up, final long nowNs)
    {
        final PathState[] next = java.util.Arrays.copyOf(paths, paths.length + up.size());
        for (int i = 0; i < up.size(); i++)
        {
            next[paths.length + i] = up.get(i);
        }
        paths = next;
        dispatch(nowNs);
    }

    /**
     * A reconnected path takes the place of the broken one.
     *
     * @return false when the link failed meanwhile or the broken path is no longer in place.
     */
    boolean replace(final PathState broken, final PathState fresh, final long nowNs)
    {
        if (failed)
        {
            return false;
        }
        final PathState[] next = paths.clone();
        for (int i = 0; i < next.length; i++)
        {
            if (next[i] == broken)
            {
                next[i] = fresh;
                paths = next;
                dispatch(nowNs);
                return true;
            }
        }
        return false;
    }

    boolean anyAlive()
    {
        for (final PathState p : paths)
        {
            if (!p.dead)
            {
                return true;
            }
        }
        return false;
    }

    boolean failed()
    {
        return failed;
    }

    /** @throws FerryException REMOTE_DISCONNECT once the link failed. */
    void checkUsable()
    {
        if (failed)
        {
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "connection to peer '" + peer + "' failed: " +
                failure);
        }
    }

    // ---------------------------------------------------------------- posts

    /**
     * Starts a post: queues the request's chunks (or, for an empty request, its notification) and places what it can.
     *
     * @return true when the post is done at once (no bytes and no notification): the caller completes it.
     * @throws FerryException REMOTE_DISCONNECT once the link failed.
     */
    boolean submit(final TcpRequest r, final byte[] notification, final long nowNs)
    {
        checkUsable();
        if (r.inFlight > 0)
        {
            r.renewChunks(); // chunks of a failed earlier post are still on the wire: their objects stay theirs
            r.inFlight = 0;
        }
        r.post++;
        r.fencesPending = 0;
        r.active = true;
        r.notification = notification;
        r.remaining = r.chunks.length;
        r.homePath = null;
        active.add(r);
        for (final Chunk c : r.chunks)
        {
            c.post = r.post;
            c.crcRetries = 0;
            c.firstSentNs = 0;
            pending.addLast(c);
        }
        boolean doneNow = false;
        if (0 == r.remaining)
        {
            if (null == notification)
            {
                doneNow = end(r, null, nowNs);
            }
            else
            {
                pending.addFirst(notificationOf(r));
            }
        }
        dispatch(nowNs);
        return doneNow;
    }

    /** Queues a notification that belongs to no transfer. */
    void submitStandalone(final byte[] payload, final long nowNs)
    {
        checkUsable();
        pending.addLast(new Chunk(null, Frames.NOTIFY_STANDALONE, payload, null));
        dispatch(nowNs);
    }

    /**
     * Ends a post, once: it leaves the books, its waiting chunks are dropped, and a failed WRITE with a notification
     * tells the target why (NOTIFY_FAILURE) unless the link is gone.
     *
     * @param error null for success.
     * @return whether the post was in progress (the caller tells its owner); false when it had ended already.
     */
    boolean end(final TcpRequest r, final FerryException error, final long nowNs)
    {
        if (!r.active)
        {
            return false;
        }
        r.active = false;
        active.remove(r);
        if (null != error)
        {
            pending.removeAll(r); // a failed post can leave chunks waiting; a repost reuses their objects
            if (TransferOp.WRITE == r.op && null != r.notification && !failed)
            {
                pending.addFirst(new Chunk(null, Frames.NOTIFY_FAILURE, r.notification, truncate(error.getMessage())));
                dispatch(nowNs);
            }
        }
        return true;
    }

    /** Aborts a post: its waiting chunks are dropped; chunks on the wire finish harmlessly. */
    void abort(final TcpRequest r)
    {
        if (r.active)
        {
            r.active = false;
            active.remove(r);
            pending.removeAll(r);
        }
    }

    // ---------------------------------------------------------------- placement

    /** Hands waiting chunks to paths with room (setting their {@link PathState#signalPending}). */
    void dispatch(final long nowNs)
    {
        final PathState[] ps = paths;
        if (0 == ps.length)
        {
            return;
        }
        while (!pending.isEmpty())
        {
            final Chunk c = pending.peekFirst();
            if (null != c.request && (!c.request.active || c.post != c.request.post))
            {
                pending.pollFirst(); // a leftover of an ended post
                continue;
            }
            final PathState p = choose(ps, c, nowNs);
            if (null == p)
            {
                return;
            }
            pending.pollFirst();
            c.id = idPrefix | (nextId++ & 0xFFFF_FFFFL);
            c.sentNs = 0;
            p.assign(c);
            if (null != c.request && !c.isNotification())
            {
                c.request.inFlight++;
            }
        }
    }

    private PathState choose(final PathState[] ps, final Chunk c, final long nowNs)
    {
        final int n = ps.length;
        if (roundRobin)
        {
            for (int k = 0; k < n; k++)
            {
                final PathState p = ps[(cursor + k) % n];
                if (!p.dead && p.hasRoomFor(c))
                {
                    cursor = (cursor + k + 1) % n;
                    return p;
                }
            }
            return null;
        }
        final boolean read = PathState.isRead(c);
        final PathState home = read && c.request.onePath ? c.request.homePath : null;
        if (null != home && !home.dead && home.hasRoomFor(c))
        {
            return home;
        }
        double fastest = 0;
        for (final PathState p : ps)
        {
            fastest = Math.max(fastest, p.deliveryRate(nowNs, read));
        }
        final double assumed = fastest > 0 ? fastest : 1.0;
        PathState best = null;
        double bestEct = Double.MAX_VALUE;
        PathState bestWithRoom = null;
        double bestWithRoomEct = Double.MAX_VALUE;
        double windows = 0;
        for (final PathState p : ps)
        {
            if (p.dead)
            {
                continue;
            }
            windows += p.controller.windowBytes();
            final double ect = p.expectedCompletionNs(nowNs, c, assumed);
            if (ect < bestEct)
            {
                best = p;
                bestEct = ect;
            }
            if (ect < bestWithRoomEct && p.hasRoomFor(c))
            {
                bestWithRoom = p;
                bestWithRoomEct = ect;
            }
        }
        // A path with room that is about as good (rate estimates are noisy) beats waiting, while more is waiting than
        // the windows hold. At the end of the queue each chunk waits for the path that finishes it first, so that a
        // slower path is not left with a full window to drain after the others are done.
        final double slack = pending.bytes() > windows ? ECT_SLACK : 1.0;
        final PathState chosen = null != bestWithRoom && bestWithRoomEct <= bestEct * slack ? bestWithRoom : null;
        if (null != chosen && read && c.request.onePath && null == home)
        {
            c.request.homePath = chosen;
        }
        return chosen;
    }

    /**
     * Takes the next chunk assigned to a path for writing, and notes its send.
     *
     * @param maxWriteBytes a WRITE chunk larger than this stays queued (a posting thread writes only small frames
     *                      itself); Long.MAX_VALUE for the path's own writer.
     * @return the chunk, or null when none (or the next is too large, or the path died).
     */
    Chunk nextToWrite(final PathState p, final long nowNs, final long maxWriteBytes)
    {
        final Chunk c = p.sendQueue.peekFirst();
        // a READ sub-request or notification is a small frame whatever its window cost
        if (null == c || p.dead || (c.bytes > maxWriteBytes && !PathState.isRead(c)))
        {
            return null;
        }
        p.sendQueue.pollFirst();
        p.onSent(nowNs, c);
        return c;
    }

    // ---------------------------------------------------------------- answers

    /**
     * An ACK or READ_DATA outcome for a chunk, notification or FENCE sent on {@code p}.
     *
     * @param status a {@link Frames} status: OK, CRC_MISMATCH (resent, up to {@link #MAX_CRC_RETRIES} times) or a
     *               refusal that fails the request.
     * @param out    the posts that ended, to be told outside the lock.
     * @throws IllegalStateException when {@code id} names no chunk awaiting an answer on {@code p} (the peer broke
     *                               the protocol: the caller closes the path).
     */
    void onReply(final PathState p, final long id, final int status, final String reason, final long nowNs,
        final Completions out)
    {
        final Chunk c = p.findUnacked(id);
        if (null == c)
        {
            throw new IllegalStateException("reply for unknown chunk " + Long.toHexString(id));
        }
        p.take(c);
        p.lastReplyNs = nowNs;
        if (c.isFence())
        {
            fenceAcknowledged(c, nowNs, out);
            dispatch(nowNs);
            return;
        }
        final TcpRequest r = c.request;
        if (null != r && !c.isNotification())
        {
            r.inFlight--;
        }
        final boolean current = null != r && r.active && c.post == r.post;
        if (Frames.OK == status)
        {
            if (!c.isNotification())
            {
                p.onDelivered(nowNs, c);
            }
            if (current)
            {
                if (c.isNotification())
                {
                    endInto(r, null, nowNs, out);
                }
                else if (0 == --r.remaining && 0 == r.fencesPending)
                {
                    dataDone(r, nowNs, out);
                }
            }
        }
        else if (Frames.CRC_MISMATCH == status && c.crcRetries < MAX_CRC_RETRIES && current)
        {
            c.crcRetries++;
            pending.addFirst(c);
            LOG.log(System.Logger.Level.WARNING, who + ": " + c + " to '" + peer + "' failed its CRC32C on " + p +
                "; resending (" + c.crcRetries + "/" + MAX_CRC_RETRIES + ")");
        }
        else if (current)
        {
            endInto(r, new FerryException(Frames.errorCode(status), (Frames.LOCAL_FREED == status ? "" :
                "peer '" + peer + "' refused " + c + " of " + r + ": ") + Frames.statusName(status) + " " + reason),
                nowNs, out);
        }
        dispatch(nowNs);
    }

    /**
     * The target closes {@code p} over a frame it could not parse: that frame was the oldest unanswered one written
     * on the path. Its request fails with the target's reason and the chunk is not placed again (it would break
     * every other path the same way).
     *
     * @return the culprit chunk, or null when nothing was outstanding.
     */
    Chunk onMalformed(final PathState p, final String reason, final long nowNs, final Completions out)
    {
        final Chunk culprit = p.oldestSent();
        if (null == culprit)
        {
            return null;
        }
        p.take(culprit);
        final TcpRequest r = culprit.request;
        if (null != r && !culprit.isNotification())
        {
            r.inFlight--;
        }
        if (null != r && r.active && culprit.post == r.post)
        {
            endInto(r, new FerryException(ErrorCode.BACKEND, "peer '" + peer + "' refused " + culprit + " of " + r +
                " as malformed: " + reason), nowNs, out);
        }
        return culprit;
    }

    /** Every byte of a post is answered (and every FENCE it waited for): its notification goes out now, or it ends. */
    private void dataDone(final TcpRequest r, final long nowNs, final Completions out)
    {
        if (null == r.notification)
        {
            endInto(r, null, nowNs, out);
        }
        else
        {
            pending.addFirst(notificationOf(r));
        }
    }

    private static Chunk notificationOf(final TcpRequest r)
    {
        final Chunk n = new Chunk(r, Frames.NOTIFY_DATA, r.notification, null);
        n.post = r.post;
        return n;
    }

    /** The target fenced an abandoned path: the posts that waited for it and have every byte answered go on. */
    private void fenceAcknowledged(final Chunk fence, final long nowNs, final Completions out)
    {
        for (int i = 0; i < fence.fencedRequests.size(); i++)
        {
            final TcpRequest r = fence.fencedRequests.get(i);
            if (r.active && r.post == fence.fencedPosts[i] && 0 == --r.fencesPending && 0 == r.remaining)
            {
                dataDone(r, nowNs, out);
            }
        }
    }

    private void endInto(final TcpRequest r, final FerryException error, final long nowNs, final Completions out)
    {
        if (end(r, error, nowNs))
        {
            out.add(r, error);
        }
    }

    // ---------------------------------------------------------------- failures

    /**
     * A path broke: its unanswered chunks go back to the front of the queue for the others (behind a FENCE when
     * WRITE frames of it may still land late) and are placed again.
     *
     * @return how many chunks it moved, or -1 when the path was dead already.
     */
    int pathFailed(final PathState p, final long nowNs)
    {
        if (p.dead)
        {
            return -1;
        }
        p.dead = true;
        final List<Chunk> requeue = new ArrayList<>(p.unacked);
        for (int i = requeue.size() - 1; i >= 0; i--)
        {
            final Chunk c = requeue.get(i);
            if (null != c.request && !c.isNotification())
            {
                c.request.inFlight--;
            }
            pending.addFirst(c);
        }
        p.clear();
        fence(p, requeue);
        dispatch(nowNs);
        return requeue.size();
    }

    /**
     * WRITE chunks written on an abandoned path and not acknowledged may still reach the target late (queued in a
     * socket, or on a link that comes back), over bytes a later request wrote. So a FENCE for that connection goes
     * first on another path, and those posts complete only once the target has fenced it (see {@link Frames}).
     */
    private void fence(final PathState p, final List<Chunk> requeued)
    {
        final Set<TcpRequest> written = Collections.newSetFromMap(new IdentityHashMap<>());
        for (final Chunk c : requeued)
        {
            final TcpRequest r = c.request;
            if (null != r && !c.isNotification() && TransferOp.WRITE == r.op && 0 != c.sentNs && r.active &&
                c.post == r.post)
            {
                written.add(r);
            }
        }
        if (written.isEmpty())
        {
            return;
        }
        final List<TcpRequest> held = new ArrayList<>(written);
        for (final TcpRequest r : held)
        {
            r.fencesPending++;
        }
        pending.addFirst(new Chunk(p.index, p.generation, held));
    }

    /**
     * Marks the link failed (no more posts), every path dead and every waiting chunk dropped, and ends every post
     * in progress in the books.
     *
     * @param onlyOnce when true, returns null if the link had failed already.
     * @return the posts that were in progress: the caller tells their owners (after its threads have stopped).
     */
    List<TcpRequest> stop(final String reason, final boolean onlyOnce)
    {
        if (onlyOnce && failed)
        {
            return null;
        }
        failed = true;
        failure = reason;
        final List<TcpRequest> lost = new ArrayList<>(active);
        for (final TcpRequest r : lost)
        {
            r.active = false;
        }
        active.clear();
        pending.clear();
        for (final PathState p : paths)
        {
            p.dead = true;
        }
        return lost;
    }

    /**
     * What {@link #checkDeadlines} found.
     *
     * @param path      the path at fault.
     * @param chunk     its oldest unanswered chunk.
     * @param wholeLink true: the chunk's deadline passed and the link fails; false: the path stalled while others
     *                  were answered and only it is left.
     */
    record Overdue(PathState path, Chunk chunk, boolean wholeLink)
    {
    }

    /**
     * Checks acknowledgement deadlines. Two rules:
     * <ul>
     *     <li><b>The deadline belongs to the data.</b> A chunk not answered within {@code ack_timeout_ms} of its
     *     first write in this post, whatever paths it moved between, fails the link (a frozen or wedged peer), not
     *     paths x the deadline later.</li>
     *     <li><b>A stalled path is left early.</b> A path with chunks outstanding that has been silent (no answer
     *     since its latest one, or since its oldest chunk was written if that came later) for a quarter of the
     *     deadline (and eight of the path's smoothed round trips, so that a merely congested path is not taken for a
     *     dead one) while another path of the link was answered meanwhile (so the peer is alive) is left, and its
     *     chunks move to the other paths with most of their deadline left.</li>
     * </ul>
     *
     * @return what is overdue, or null.
     */
    Overdue checkDeadlines(final long nowNs)
    {
        if (failed)
        {
            return null;
        }
        final long stall = ackTimeoutNs / 4;
        long latestReply = 0;
        for (final PathState p : paths)
        {
            if (!p.dead && p.lastReplyNs > latestReply)
            {
                latestReply = p.lastReplyNs;
            }
        }
        Overdue stalled = null;
        for (final PathState p : paths)
        {
            final Chunk oldest = p.dead ? null : p.oldestSent();
            if (null == oldest)
            {
                continue;
            }
            if (nowNs - oldest.firstSentNs > ackTimeoutNs)
            {
                return new Overdue(p, oldest, true);
            }
            // silent since its latest answer, or since the oldest chunk was written if that came later: with
            // chunks pipelined, answers to earlier chunks arrive after the oldest one was written, and a link that
            // goes down then leaves the path silent from its last answer on
            final long silentSince = Math.max(oldest.sentNs, p.lastReplyNs);
            final long pathStall = Math.max(stall, 8 * p.controller.smoothedRttNs());
            if (null == stalled && nowNs - silentSince > pathStall && latestReply - silentSince > 0)
            {
                stalled = new Overdue(p, oldest, false);
            }
        }
        return stalled;
    }

    /** @return the reason cut to at most {@link Frames#MAX_REASON} UTF-8 bytes (on a character boundary). */
    static String truncate(final String reason)
    {
        final String r = null == reason ? "" : reason;
        if (r.length() * 3L <= Frames.MAX_REASON)
        {
            return r;
        }
        int n = Math.min(r.length(), Frames.MAX_REASON);
        while (n > 0 && r.substring(0, n).getBytes(java.nio.charset.StandardCharsets.UTF_8).length > Frames.MAX_REASON)
        {
            n -= Math.max(1, n / 8);
        }
        return r.substring(0, n);
    }
}
