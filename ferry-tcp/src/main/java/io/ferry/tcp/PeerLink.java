package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The initiator's side of one peer: the shell around its {@link LinkScheduler}. It takes the link's lock, asks the
 * scheduler, and does everything else outside the lock: socket I/O (its {@link TcpPath}s), connecting ({@link
 * PathDialer}), reconnecting ({@link Reconnector}) and telling posts' owners how they ended. When the last path dies
 * every post fails with REMOTE_DISCONNECT and the agent drops the peer.
 */
final class PeerLink
{
    private static final System.Logger LOG = System.getLogger(PeerLink.class.getName());
    /** WRITE chunks up to this many payload bytes may be written by the posting thread itself. */
    private static final long DIRECT_WRITE_LIMIT = 64 * 1024;

    final TcpBackend backend;
    final TcpConfig config;
    final String peer;
    final Endpoints.Info endpoints;
    final ReentrantLock lock = new ReentrantLock();
    private final LinkScheduler scheduler;
    private final PathDialer dialer;
    private final Reconnector reconnector;
    private final String who;
    /** Set once the first paths are up (under {@code this}, the connecting monitor). */
    private volatile boolean connected;

    PeerLink(final TcpBackend backend, final String peer, final Endpoints.Info endpoints)
    {
        this.backend = backend;
        this.config = backend.config;
        this.peer = peer;
        this.endpoints = endpoints;
        this.who = "TCP agent " + backend.agentName();
        this.scheduler = new LinkScheduler(peer, who, "round_robin".equals(config.pathSelection()),
            config.ackTimeoutMs(), (ThreadLocalRandom.current().nextLong() & 0x7FFF_FFFFL) << 32);
        this.dialer = new PathDialer(backend, peer);
        this.reconnector = new Reconnector(config.reconnectIntervalMs());
    }

    /**
     * Connects every path if not done yet; returns once at least one path is up.
     *
     * @throws FerryException REMOTE_DISCONNECT when no path can be connected, naming why.
     */
    void ensureConnected()
    {
        if (connected && !scheduler.failed())
        {
            return;
        }
        synchronized (this)
        {
            lock.lock();
            try
            {
                scheduler.checkUsable();
            }
            finally
            {
                lock.unlock();
            }
            if (connected)
            {
                return;
            }
            final List<InetSocketAddress> usable = endpoints.usable();
            if (usable.isEmpty())
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + peer + "' publishes only loopback " +
                    "addresses of another host: " + endpoints.addresses());
            }
            // every path connects at once, so the first post waits at most one connect_timeout_ms
            final List<CompletableFuture<TcpPath>> attempts = new ArrayList<>();
            for (int i = 0; i < config.paths(); i++)
            {
                final int index = i;
                final InetSocketAddress remote = usable.get(i % usable.size());
                final CompletableFuture<TcpPath> f = new CompletableFuture<>();
                Thread.ofVirtual().name(backend.threadPrefix() + "-" + peer + "-p" + i + "-connect").start(() ->
                {
                    try
                    {
                        f.complete(open(index, remote));
                    }
                    catch (final IOException | RuntimeException ex)
                    {
                        f.completeExceptionally(new IOException("path " + index + " to " + remote + ": " +
                            ex.getMessage(), ex));
                    }
                });
                attempts.add(f);
            }
            final List<TcpPath> up = new ArrayList<>();
            final List<String> errors = new ArrayList<>();
            for (final CompletableFuture<TcpPath> f : attempts)
            {
                try
                {
                    up.add(f.get(2L * config.connectTimeoutMs(), TimeUnit.MILLISECONDS));
                }
                catch (final ExecutionException ex)
                {
                    errors.add(ex.getCause().getMessage());
                }
                catch (final TimeoutException ex)
                {
                    errors.add("a path did not connect within " + 2L * config.connectTimeoutMs() + " ms");
                    f.thenAccept(late -> BlockingSocketIo.closeQuietly(late.channel));
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                    errors.add("interrupted while connecting");
                }
            }
            if (up.isEmpty())
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "cannot connect to peer '" + peer + "': " +
                    String.join("; ", errors));
            }
            if (!errors.isEmpty())
            {
                LOG.log(System.Logger.Level.WARNING, who + ": only " + up.size() + " of " + config.paths() +
                    " paths to '" + peer + "' connected: " + String.join("; ", errors));
            }
            lock.lock();
            try
            {
                scheduler.install(up, System.nanoTime());
            }
            finally
            {
                lock.unlock();
            }
            connected = true;
            for (final TcpPath p : up)
            {
                p.start(backend.threadPrefix() + "-" + peer);
            }
            wakeAll();
        }
    }

    private TcpPath open(final int index, final InetSocketAddress remote) throws IOException
    {
        final PathDialer.Dialed d = dialer.dial(index, remote);
        return new TcpPath(this, index, d.generation(), remote, d.channel(), config.newController(),
            config.maxSpansPerChunk(), d.description());
    }

    // ---------------------------------------------------------------- posts

    /**
     * Starts a post: queues the request's chunks (or, for an empty request, its notification).
     */
    void submit(final TcpRequest r, final byte[] notification)
    {
        checkPostable(r, notification);
        final boolean doneNow;
        lock.lock();
        try
        {
            doneNow = scheduler.submit(r, notification, System.nanoTime());
        }
        finally
        {
            lock.unlock();
        }
        writeOrWake();
        if (doneNow)
        {
            r.sink.onComplete();
        }
    }

    /**
     * Refuses at the call what the peer would refuse or what would break a connection: chunks over the peer's
     * announced limits, a notification over its {@code max_notification_bytes}, local memory already freed.
     */
    private void checkPostable(final TcpRequest r, final byte[] notification)
    {
        final Handshake.Limits limits = dialer.peerLimits();
        if (null != limits && (r.maxChunkSpans > limits.maxSpans() || r.maxFrameBody > limits.maxFrameBytes()))
        {
            // prepared before the peer said what it accepts: cut again to its limits while nothing is on the wire
            lock.lock();
            try
            {
                if (!r.active && 0 == r.inFlight)
                {
                    backend.fitToPeer(r, limits);
                }
            }
            finally
            {
                lock.unlock();
            }
        }
        if (null != limits)
        {
            if (r.maxChunkSpans > limits.maxSpans())
            {
                throw new FerryException(ErrorCode.INVALID_PARAM, r + " has chunks of " + r.maxChunkSpans +
                    " spans but peer '" + peer + "' accepts at most " + limits.maxSpans() + " (its " +
                    "max_spans_per_chunk): lower this agent's max_spans_per_chunk");
            }
            if (r.maxFrameBody > limits.maxFrameBytes())
            {
                throw new FerryException(ErrorCode.INVALID_PARAM, r + " needs frames of " + r.maxFrameBody +
                    " bytes but peer '" + peer + "' accepts at most " + limits.maxFrameBytes() + " (its " +
                    "max_frame_bytes): lower this agent's chunk_size");
            }
        }
        checkNotification(notification);
        final TcpRegion freed = r.freedLocalRegion(null);
        if (null != freed)
        {
            throw new FerryException(ErrorCode.BACKEND, r + ": the memory of local " + freed + " was freed (its " +
                "arena is closed) while registered");
        }
    }

    private void checkNotification(final byte[] notification)
    {
        final Handshake.Limits limits = dialer.peerLimits();
        if (null != notification && null != limits && notification.length > limits.maxNotificationBytes())
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "a notification of " + notification.length +
                " bytes exceeds peer '" + peer + "''s max_notification_bytes " + limits.maxNotificationBytes());
        }
    }

    void sendStandalone(final byte[] payload)
    {
        checkNotification(payload);
        lock.lock();
        try
        {
            scheduler.submitStandalone(payload, System.nanoTime());
            wakeLocked();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Ends a post (success when error is null), once; a failed WRITE with a notification tells the target. */
    void finish(final TcpRequest r, final FerryException error)
    {
        final boolean ended;
        lock.lock();
        try
        {
            ended = scheduler.end(r, error, System.nanoTime());
            wakeLocked();
        }
        finally
        {
            lock.unlock();
        }
        if (ended)
        {
            tell(r, error);
        }
    }

    private static void tell(final TcpRequest r, final FerryException error)
    {
        if (null == error)
        {
            r.sink.onComplete();
        }
        else
        {
            r.sink.onFailure(error);
        }
    }

    /** Aborts a post: its waiting chunks are dropped; chunks on the wire finish harmlessly. */
    boolean abort(final TcpRequest r)
    {
        lock.lock();
        try
        {
            scheduler.abort(r);
            return true;
        }
        finally
        {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- path threads

    /** Wakes the writers of paths the scheduler gave work. Under the lock. */
    private void wakeLocked()
    {
        for (final PathState s : scheduler.paths())
        {
            if (s.signalPending)
            {
                s.signalPending = false;
                ((TcpPath)s).hasWork.signal();
            }
        }
    }

    private void wakeAll()
    {
        lock.lock();
        try
        {
            wakeLocked();
        }
        finally
        {
            lock.unlock();
        }
    }

    /**
     * After a post queued work: a path whose writer is idle gets its small chunks written by the posting thread
     * itself, saving a thread wake-up on the latency path; anything else wakes the path's sender thread.
     */
    private void writeOrWake()
    {
        for (final PathState s : scheduler.paths())
        {
            final TcpPath p = (TcpPath)s;
            boolean wake;
            lock.lock();
            try
            {
                wake = p.signalPending;
                p.signalPending = false;
            }
            finally
            {
                lock.unlock();
            }
            if (!wake)
            {
                continue;
            }
            if (p.writeLock.tryLock())
            {
                Chunk c = null;
                try
                {
                    while (null != (c = takeSmall(p)))
                    {
                        p.write(c);
                    }
                }
                catch (final IOException | RuntimeException ex)
                {
                    p.writeLock.unlock();
                    if (ex instanceof IllegalStateException && null != c)
                    {
                        failIfFreed(c);
                    }
                    pathFailed(p, ex);
                    continue;
                }
                p.writeLock.unlock();
            }
            lock.lock();
            try
            {
                if (!p.sendQueue.isEmpty())
                {
                    p.hasWork.signal();
                }
            }
            finally
            {
                lock.unlock();
            }
        }
    }

    private Chunk takeSmall(final TcpPath p)
    {
        lock.lock();
        try
        {
            return scheduler.nextToWrite(p, System.nanoTime(), DIRECT_WRITE_LIMIT);
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Blocks the path's sender until a chunk is assigned to it; null once the path is dead. */
    Chunk nextToSend(final TcpPath p)
    {
        lock.lock();
        try
        {
            while (p.sendQueue.isEmpty() && !p.dead)
            {
                p.hasWork.awaitUninterruptibly();
            }
            return p.dead ? null : scheduler.nextToWrite(p, System.nanoTime(), Long.MAX_VALUE);
        }
        finally
        {
            lock.unlock();
        }
    }

    Chunk findUnacked(final TcpPath p, final long id)
    {
        lock.lock();
        try
        {
            return p.findUnacked(id);
        }
        finally
        {
            lock.unlock();
        }
    }

    /** An ACK or READ_DATA outcome for a chunk or notification sent on {@code p}; on its receiver thread. */
    void onReply(final TcpPath p, final long id, final int status, final String reason)
    {
        final Completions done = p.completions;
        lock.lock();
        try
        {
            scheduler.onReply(p, id, status, reason, System.nanoTime(), done);
            wakeLocked();
        }
        finally
        {
            lock.unlock();
        }
        done.deliver();
    }

    /**
     * The target is closing path {@code p} over a frame it could not parse (it said so with a MALFORMED status
     * and no chunk id): the request whose frame it was fails, and is not replayed on the other paths to break them
     * too; the path then fails as usual and its other chunks move on.
     */
    void onConnectionRefused(final TcpPath p, final String reason)
    {
        final Completions done = new Completions();
        final Chunk culprit;
        lock.lock();
        try
        {
            culprit = scheduler.onMalformed(p, reason, System.nanoTime(), done);
            wakeLocked();
        }
        finally
        {
            lock.unlock();
        }
        LOG.log(System.Logger.Level.WARNING, who + ": peer '" + peer + "' closes " + p + " over a malformed frame (" +
            reason + "); " + (null == culprit ? "no frame was outstanding" : culprit + " is dropped, not resent"));
        done.deliver();
    }

    /**
     * A path's I/O on a chunk's memory failed because that memory was freed behind ferry's back (its arena closed
     * while a frame was on the wire): the chunk's request fails with BACKEND, so it is not replayed on the other
     * paths, and only the path whose frame broke is lost (it reconnects).
     */
    void failIfFreed(final Chunk c)
    {
        final TcpRequest r = c.request;
        if (null == r || c.isNotification())
        {
            return;
        }
        final TcpRegion freed = r.freedLocalRegion(c);
        if (null != freed)
        {
            finish(r, new FerryException(ErrorCode.BACKEND, r + ": the memory of local " + freed + " was freed (its " +
                "arena is closed) while " + c + " was on the wire"));
        }
    }

    // ---------------------------------------------------------------- failures

    /** A path broke: its chunks move to the others, or the link fails when none is left. */
    void pathFailed(final TcpPath p, final Throwable cause)
    {
        final List<TcpRequest> lost;
        final String reason;
        final PathState[] all;
        lock.lock();
        try
        {
            all = scheduler.paths();
            final int moved = scheduler.pathFailed(p, System.nanoTime());
            if (moved < 0)
            {
                return;
            }
            p.hasWork.signalAll();
            if (scheduler.anyAlive())
            {
                if (!backend.closing())
                {
                    // a clean close by the peer (it is shutting down) with nothing in flight is routine; with
                    // chunks in flight it is news; anything else is trouble
                    LOG.log(cause instanceof java.io.EOFException ? (0 == moved ? System.Logger.Level.DEBUG :
                        System.Logger.Level.INFO) : System.Logger.Level.WARNING, who + ": " + p + " failed (" +
                        cause + "); " + moved + " unacknowledged chunks go to the other paths");
                    scheduleReconnect(p);
                }
                wakeLocked();
                lost = List.of();
                reason = null;
            }
            else
            {
                reason = "every path to peer '" + peer + "' failed, last: " + p + ": " + cause;
                lost = scheduler.stop(reason, false);
                signalAllLocked(all);
            }
        }
        finally
        {
            lock.unlock();
        }
        abortQuietly(p.channel);
        if (null != reason)
        {
            final Runnable end = () ->
            {
                // no thread of this link may still be reading or writing a request's memory once the request has
                // ended (its owner may free that memory then)
                closeAndJoin(all);
                // drop the peer first, so that whoever sees the failure also sees the peer gone
                if (!backend.closing())
                {
                    backend.linkFailed(this, reason);
                }
                for (final TcpRequest r : lost)
                {
                    tell(r, new FerryException(ErrorCode.REMOTE_DISCONNECT, reason));
                }
            };
            if (isPathThread(all, Thread.currentThread()))
            {
                // a path thread cannot wait for itself: the requests end on a thread that waits for every path
                // thread, this one included, so that none is alive when their owners hear of the failure
                Thread.ofVirtual().name(backend.threadPrefix() + "-" + peer + "-failed").start(end);
            }
            else
            {
                end.run();
            }
        }
    }

    /** Closes a socket with a reset: what it had not sent yet is dropped, never delivered late. */
    private static void abortQuietly(final SocketChannel ch)
    {
        try
        {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
        }
        catch (final IOException | RuntimeException ignore)
        {
            // closed already
        }
        BlockingSocketIo.closeQuietly(ch);
    }

    private static boolean isPathThread(final PathState[] all, final Thread t)
    {
        for (final PathState p : all)
        {
            if (((TcpPath)p).ownsThread(t))
            {
                return true;
            }
        }
        return false;
    }

    /** Reconnects a broken path in the background while the link lives; the new path takes its place. */
    private void scheduleReconnect(final TcpPath broken)
    {
        reconnector.start(backend.threadPrefix() + "-" + peer + "-p" + broken.index + "-reconnect",
            () -> !scheduler.failed() && !backend.closing(), () ->
            {
                final TcpPath fresh = open(broken.index, broken.remote);
                final boolean installed;
                lock.lock();
                try
                {
                    installed = scheduler.replace(broken, fresh, System.nanoTime());
                }
                finally
                {
                    lock.unlock();
                }
                if (!installed)
                {
                    BlockingSocketIo.closeQuietly(fresh.channel);
                    return true;
                }
                fresh.start(backend.threadPrefix() + "-" + peer);
                wakeAll();
                LOG.log(System.Logger.Level.INFO, who + ": " + fresh + " reconnected");
                return true;
            });
    }

    /**
     * Checks acknowledgement deadlines (the watchdog's duty, with the clock passed in; the rules are {@link
     * LinkScheduler#checkDeadlines}'s).
     *
     * @param nowNs the time now.
     * @return the number of paths it declared dead (all of them when the link failed).
     */
    int checkTimeouts(final long nowNs)
    {
        final LinkScheduler.Overdue overdue;
        final int n;
        lock.lock();
        try
        {
            overdue = scheduler.checkDeadlines(nowNs);
            n = scheduler.paths().length;
        }
        finally
        {
            lock.unlock();
        }
        if (null == overdue)
        {
            return 0;
        }
        if (overdue.wholeLink())
        {
            failLink("no acknowledgement of " + overdue.chunk() + " from peer '" + peer + "' within ack_timeout_ms " +
                config.ackTimeoutMs() + " ms of its first write (last on " + overdue.path() + ")");
            return n;
        }
        pathFailed((TcpPath)overdue.path(), new IOException("no acknowledgement of " + overdue.chunk() + " within " +
            config.ackTimeoutMs() / 4 + " ms while other paths to the peer were answered"));
        return 1;
    }

    /**
     * Fails the whole link: every request ends REMOTE_DISCONNECT, the paths close, the agent drops the peer.
     */
    private void failLink(final String reason)
    {
        final Stopped stopped = stop(reason, true);
        if (null == stopped)
        {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, who + ": " + reason);
        closeAndJoin(stopped.paths());
        if (!backend.closing())
        {
            backend.linkFailed(this, reason);
        }
        for (final TcpRequest r : stopped.lost())
        {
            tell(r, new FerryException(ErrorCode.REMOTE_DISCONNECT, reason));
        }
    }

    /** Closes every path and fails what is in progress. */
    void close(final ErrorCode code, final String why)
    {
        final Stopped stopped = stop(why, false);
        for (final TcpRequest r : stopped.lost())
        {
            tell(r, new FerryException(code, why));
        }
        closeAndJoin(stopped.paths());
    }

    /**
     * What {@link #stop} took down.
     *
     * @param lost  the requests that were in progress (their owners are not told yet).
     * @param paths the paths.
     */
    private record Stopped(List<TcpRequest> lost, PathState[] paths)
    {
    }

    /**
     * Stops the link in the scheduler's books (no more posts, every path dead, waiting chunks dropped), wakes the
     * path writers so that they end, and stops reconnecting.
     *
     * @param onlyOnce when true, returns null if the link had stopped already.
     */
    private Stopped stop(final String reason, final boolean onlyOnce)
    {
        final Stopped stopped;
        lock.lock();
        try
        {
            final PathState[] all = scheduler.paths();
            final List<TcpRequest> lost = scheduler.stop(reason, onlyOnce);
            if (null == lost)
            {
                return null;
            }
            signalAllLocked(all);
            stopped = new Stopped(lost, all);
        }
        finally
        {
            lock.unlock();
        }
        reconnector.stopAll();
        return stopped;
    }

    private static void signalAllLocked(final PathState[] all)
    {
        for (final PathState p : all)
        {
            ((TcpPath)p).hasWork.signalAll();
        }
    }

    /**
     * Closes the paths' sockets and waits (at most 5 s each) for their threads to end, except the calling thread;
     * stops waiting, keeping the interrupt, when interrupted.
     */
    private static void closeAndJoin(final PathState[] ps)
    {
        for (final PathState p : ps)
        {
            BlockingSocketIo.closeQuietly(((TcpPath)p).channel);
        }
        for (final PathState p : ps)
        {
            try
            {
                ((TcpPath)p).join(5000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Test hook: breaks path {@code index} as a network fault would. */
    void breakPath(final int index) throws IOException
    {
        try
        {
            paths()[index].channel.shutdownOutput();
            paths()[index].channel.shutdownInput();
        }
        catch (final java.nio.channels.ClosedChannelException ex)
        {
            // the path noticed the first shutdown and closed itself: broken either way
        }
    }

    /** @return the paths, in the order they connected (the slot of each is its {@code index}). */
    TcpPath[] paths()
    {
        final PathState[] ps = scheduler.paths();
        final TcpPath[] out = new TcpPath[ps.length];
        for (int i = 0; i < ps.length; i++)
        {
            out[i] = (TcpPath)ps[i];
        }
        return out;
    }

    List<io.ferry.PathStats> stats()
    {
        final List<io.ferry.PathStats> out = new ArrayList<>();
        final long now = System.nanoTime();
        lock.lock();
        try
        {
            for (final PathState p : scheduler.paths())
            {
                out.add(new io.ferry.PathStats(TcpBackendProvider.NAME, peer, p.index, !p.dead,
                    p.controller.windowBytes(), p.inflightBytes(), p.controller.smoothedRttNs(), p.bytesAcked,
                    (long)(Math.max(p.deliveryRate(now, false), p.deliveryRate(now, true)) * 1e9)));
            }
        }
        finally
        {
            lock.unlock();
        }
        return out;
    }
}
