package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Everything the initiator side keeps for one peer: its paths, the chunks waiting for a window, the requests in
 * progress. Chunks are handed to the path with the most room (or round-robin); a dead path's unacknowledged chunks
 * go back to the front of the queue for the others; when the last path dies every request fails with
 * REMOTE_DISCONNECT and the agent drops the peer.
 */
final class PeerLink
{
    private static final System.Logger LOG = System.getLogger(PeerLink.class.getName());
    private static final int MAX_CRC_RETRIES = 3;
    /** WRITE chunks up to this many payload bytes may be written by the posting thread itself. */
    private static final long DIRECT_WRITE_LIMIT = 64 * 1024;

    final TcpBackend backend;
    final TcpConfig config;
    final String peer;
    final Endpoints.Info endpoints;
    final ReentrantLock lock = new ReentrantLock();
    private final PendingChunks pending = new PendingChunks();
    private final Set<TcpRequest> active = Collections.newSetFromMap(new IdentityHashMap<>());
    private final long idPrefix = (ThreadLocalRandom.current().nextLong() & 0x7FFF_FFFFL) << 32;
    private volatile TcpPath[] paths;
    private final Set<Thread> reconnecting = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private int cursor;
    private long nextId;
    private volatile boolean failed;
    private volatile String failure;
    /** How many times each path index was connected (a FENCE names the connection it abandons by it). */
    private final java.util.concurrent.atomic.AtomicIntegerArray generations;
    /** What the peer accepts, as its HELLO_OK said; null until a path connected. */
    private volatile Handshake.Limits peerLimits;
    private static final java.security.SecureRandom NONCES = new java.security.SecureRandom();

    PeerLink(final TcpBackend backend, final String peer, final Endpoints.Info endpoints)
    {
        this.backend = backend;
        this.config = backend.config;
        this.peer = peer;
        this.endpoints = endpoints;
        this.generations = new java.util.concurrent.atomic.AtomicIntegerArray(config.paths());
    }

    /**
     * Connects every path if not done yet; returns once at least one path is up.
     *
     * @throws FerryException REMOTE_DISCONNECT when no path can be connected, naming why.
     */
    void ensureConnected()
    {
        if (null != paths && !failed)
        {
            return;
        }
        synchronized (this)
        {
            if (failed)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "connection to peer '" + peer + "' failed: " +
                    failure);
            }
            if (null != paths)
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
            final List<java.util.concurrent.CompletableFuture<TcpPath>> attempts = new ArrayList<>();
            for (int i = 0; i < config.paths(); i++)
            {
                final int index = i;
                final InetSocketAddress remote = usable.get(i % usable.size());
                final java.util.concurrent.CompletableFuture<TcpPath> f = new java.util.concurrent.CompletableFuture<>();
                Thread.ofVirtual().name(backend.threadPrefix() + "-" + peer + "-p" + i + "-connect").start(() ->
                {
                    try
                    {
                        f.complete(connectPath(index, remote));
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
            for (final java.util.concurrent.CompletableFuture<TcpPath> f : attempts)
            {
                try
                {
                    up.add(f.get(2L * config.connectTimeoutMs(), java.util.concurrent.TimeUnit.MILLISECONDS));
                }
                catch (final java.util.concurrent.ExecutionException ex)
                {
                    errors.add(ex.getCause().getMessage());
                }
                catch (final java.util.concurrent.TimeoutException ex)
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
                LOG.log(System.Logger.Level.WARNING, "TCP agent " + backend.agentName() + ": only " + up.size() + " of " +
                    config.paths() + " paths to '" + peer + "' connected: " + String.join("; ", errors));
            }
            lock.lock();
            try
            {
                paths = up.toArray(new TcpPath[0]);
            }
            finally
            {
                lock.unlock();
            }
            for (final TcpPath p : up)
            {
                p.start(backend.threadPrefix() + "-" + peer);
            }
        }
    }

    private TcpPath connectPath(final int index, final InetSocketAddress remote) throws IOException
    {
        final SocketChannel ch = SocketChannel.open();
        try
        {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            backend.tune(ch);
            if (!config.localAddresses().isEmpty())
            {
                ch.bind(new InetSocketAddress(config.localAddresses().get(index % config.localAddresses().size()), 0));
            }
            backend.watchdog.deadline(ch, config.connectTimeoutMs());
            ch.socket().connect(remote, config.connectTimeoutMs());
            final ByteBuffer challenge = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY);
            // the header alone first: a listener of another protocol version is named, not waited on for more bytes
            BlockingSocketIo.readFully(ch, challenge.limit(Frames.HEADER_LENGTH));
            final String bad = Frames.checkHeader(challenge, Frames.CHALLENGE_BODY);
            if (null != bad || Frames.CHALLENGE != challenge.get(3) || Frames.CHALLENGE_BODY != challenge.getInt(4))
            {
                throw new IOException("not a ferry TCP listener of this version (" +
                    (null == bad ? "no challenge" : bad) + ")");
            }
            BlockingSocketIo.readFully(ch, challenge.limit(challenge.capacity()));
            final byte[] nonce = new byte[Frames.CHALLENGE_LENGTH];
            challenge.position(Frames.HEADER_LENGTH).get(nonce);
            final byte[] ours = new byte[Frames.CHALLENGE_LENGTH];
            NONCES.nextBytes(ours);
            final int generation = generations.incrementAndGet(index);
            BlockingSocketIo.writeFully(ch, Handshake.hello(backend.agentName(), peer, index,
                Handshake.mac(config.authSecret(), nonce, backend.agentName(), peer), ours, generation));
            final ByteBuffer reply = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.REPLY_FIXED);
            BlockingSocketIo.readFully(ch, reply); // HELLO_OK, or an ACK that says why not: both at least this long
            if (Frames.HELLO_OK != reply.get(3) || Frames.EMPTY_BODY != reply.getInt(4))
            {
                final int len = Math.clamp(reply.getInt(Frames.HEADER_LENGTH + 8), 0, Frames.MAX_REASON);
                final ByteBuffer why = ByteBuffer.allocate(len);
                BlockingSocketIo.readFully(ch, why);
                throw new IOException("peer refused the handshake: " + (0 == len ? "no reason" :
                    new String(why.array(), java.nio.charset.StandardCharsets.UTF_8)));
            }
            if (null != config.authSecret() && !Handshake.macMatches(Handshake.targetProof(config.authSecret(), ours,
                nonce, peer, backend.agentName()), Handshake.Limits.proof(reply)))
            {
                throw new IOException("the listener at " + remote + " did not prove auth_secret as agent '" + peer +
                    "' (a wrong secret, or not that agent): nothing was sent to it");
            }
            final Handshake.Limits limits = Handshake.Limits.parse(reply);
            if (null != limits)
            {
                peerLimits = limits; // a HELLO_OK without them (all zero) leaves this agent's own limits in force
            }
            backend.watchdog.clear(ch);
            final String description = ch.getLocalAddress() + " -> " + remote;
            return new TcpPath(this, index, generation, remote, ch, config.newController(), config.maxSpansPerChunk(),
                description);
        }
        catch (final java.nio.channels.ClosedChannelException ex)
        {
            backend.watchdog.clear(ch);
            BlockingSocketIo.closeQuietly(ch);
            throw new IOException("no connection and handshake within " + config.connectTimeoutMs() + " ms", ex);
        }
        catch (final IOException | RuntimeException ex)
        {
            backend.watchdog.clear(ch);
            BlockingSocketIo.closeQuietly(ch);
            throw ex;
        }
    }

    /**
     * Starts a post: queues the request's chunks (or, for an empty request, its notification).
     */
    void submit(final TcpRequest r, final byte[] notification)
    {
        checkPostable(r, notification);
        boolean completeNow = false;
        lock.lock();
        try
        {
            if (failed)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "connection to peer '" + peer + "' failed: " +
                    failure);
            }
            if (r.inFlight > 0)
            {
                r.renewChunks();
                r.inFlight = 0;
            }
            r.post++;
            r.fencesPending = 0;
            r.active = true;
            r.notification = notification;
            r.remaining = r.chunks.length;
            active.add(r);
            for (final Chunk c : r.chunks)
            {
                c.post = r.post;
                c.crcRetries = 0;
                c.firstSentNs = 0;
                pending.addLast(c);
            }
            if (0 == r.remaining)
            {
                completeNow = null == notification;
                if (!completeNow)
                {
                    pending.addFirst(new Chunk(r, Frames.NOTIFY_DATA, notification, null));
                }
            }
            dispatchLocked(true);
        }
        finally
        {
            lock.unlock();
        }
        writeOrWake();
        if (completeNow)
        {
            finish(r, null);
        }
    }

    /**
     * Refuses at the call what the peer would refuse or what would break a connection: chunks over the peer's
     * announced limits, a notification over its {@code max_notification_bytes}, local memory already freed.
     */
    private void checkPostable(final TcpRequest r, final byte[] notification)
    {
        final Handshake.Limits limits = peerLimits;
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
        final Handshake.Limits limits = peerLimits;
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
            if (failed)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "connection to peer '" + peer + "' failed: " +
                    failure);
            }
            pending.addLast(new Chunk(null, Frames.NOTIFY_STANDALONE, payload, null));
            dispatchLocked();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Hands waiting chunks to paths with room and wakes their senders. Under the lock. */
    private void dispatchLocked()
    {
        dispatchLocked(false);
    }

    /** Hands waiting chunks to paths with room. Under the lock. */
    private void dispatchLocked(final boolean deferSignals)
    {
        if (null == paths)
        {
            return;
        }
        while (!pending.isEmpty())
        {
            final Chunk c = pending.peekFirst();
            if (null != c.request && (!c.request.active || c.post != c.request.post))
            {
                pending.pollFirst();
                continue;
            }
            final TcpPath p = choose(c);
            if (null == p)
            {
                return;
            }
            pending.pollFirst();
            c.id = idPrefix | (nextId++ & 0xFFFF_FFFFL);
            c.sentNs = 0;
            p.sendQueue.addLast(c);
            p.unacked.addLast(c);
            p.inflightBytes += c.bytes;
            if (null != c.request && !c.isNotification())
            {
                c.request.inFlight++;
            }
            if (deferSignals)
            {
                p.signalPending = true;
            }
            else
            {
                p.hasWork.signal();
            }
        }
    }

    /**
     * After a post queued work: a path whose writer is idle gets its small chunks written by the posting thread
     * itself, saving a thread wake-up on the latency path; anything else wakes the path's sender thread.
     */
    private void writeOrWake()
    {
        final TcpPath[] ps = paths;
        for (final TcpPath p : ps)
        {
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
            final Chunk c = p.sendQueue.peekFirst();
            // a READ request or notification is a small frame whatever its window cost
            if (null == c || p.dead || (c.bytes > DIRECT_WRITE_LIMIT && !c.isNotification() &&
                io.ferry.TransferOp.WRITE == c.request.op))
            {
                return null;
            }
            p.sendQueue.pollFirst();
            p.onSent(System.nanoTime(), c);
            return c;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** How much later than the best path a path with room may expect to deliver and still be used at once. */
    private static final double ECT_SLACK = 1.1;

    private TcpPath choose(final Chunk c)
    {
        final int n = paths.length;
        if ("round_robin".equals(config.pathSelection()))
        {
            for (int k = 0; k < n; k++)
            {
                final TcpPath p = paths[(cursor + k) % n];
                if (!p.dead && p.hasRoomFor(c))
                {
                    cursor = (cursor + k + 1) % n;
                    return p;
                }
            }
            return null;
        }
        // READ requests fill the lowest-RTT path's window before overflowing to the next. Measured on 2 cores:
        // spreading a 4 MiB READ's responses over 4 connections runs 4 writers at the target and 4 readers here at
        // once, and halved it (2.8 against 4.8 GB/s). A large READ still overflows onto every path.
        final boolean fillFirst = null != c.request && !c.isNotification() && io.ferry.TransferOp.READ == c.request.op;
        if (fillFirst)
        {
            TcpPath best = null;
            for (final TcpPath p : paths)
            {
                if (!p.dead && p.hasRoomFor(c) &&
                    (null == best || p.controller.smoothedRttNs() < best.controller.smoothedRttNs()))
                {
                    best = p;
                }
            }
            return best;
        }
        // WRITE chunks and notifications go to the path expected to deliver them first, from its measured delivery
        // rate and the bytes already in flight on it (earliest completion first, as MPTCP's ECF): a congested link
        // gets its share of a transfer, not an equal one, so the transfer does not wait on its slowest path. When
        // that path has no room the chunk waits for it rather than taking a slower one (an ack on it is due).
        final long now = System.nanoTime();
        double fastest = 0;
        for (final TcpPath p : paths)
        {
            fastest = Math.max(fastest, p.deliveryRate(now));
        }
        final double assumed = fastest > 0 ? fastest : 1.0;
        TcpPath best = null;
        double bestEct = Double.MAX_VALUE;
        TcpPath bestWithRoom = null;
        double bestWithRoomEct = Double.MAX_VALUE;
        double windows = 0;
        for (final TcpPath p : paths)
        {
            if (p.dead)
            {
                continue;
            }
            windows += p.controller.windowBytes();
            final double ect = p.expectedCompletionNs(now, c.bytes, assumed);
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
        return null != bestWithRoom && bestWithRoomEct <= bestEct * slack ? bestWithRoom : null;
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
            if (p.dead)
            {
                return null;
            }
            final Chunk c = p.sendQueue.pollFirst();
            p.onSent(System.nanoTime(), c);
            return c;
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
            for (final Chunk c : p.unacked)
            {
                if (c.id == id)
                {
                    return c;
                }
            }
            return null;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** An ACK or READ_DATA outcome for a chunk or notification sent on {@code p}. */
    void onReply(final TcpPath p, final long id, final int status, final String reason)
    {
        TcpRequest done = null;
        TcpRequest failedRequest = null;
        FerryException error = null;
        List<TcpRequest> fenced = List.of();
        final long now = System.nanoTime();
        lock.lock();
        try
        {
            Chunk c = null;
            for (final Iterator<Chunk> it = p.unacked.iterator(); it.hasNext(); )
            {
                final Chunk u = it.next();
                if (u.id == id)
                {
                    c = u;
                    it.remove();
                    break;
                }
            }
            if (null == c)
            {
                throw new IllegalStateException("reply for unknown chunk " + Long.toHexString(id));
            }
            p.inflightBytes -= c.bytes;
            p.lastReplyNs = now;
            if (c.isFence())
            {
                fenced = fenceAcknowledgedLocked(c);
                dispatchLocked();
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
                    p.controller.onAck(now, now - c.sentNs, c.bytes);
                    p.bytesAcked += c.bytes;
                    p.onDelivered(now, c);
                }
                if (current)
                {
                    if (c.isNotification())
                    {
                        done = r;
                    }
                    else if (0 == --r.remaining && 0 == r.fencesPending)
                    {
                        done = dataDoneLocked(r);
                    }
                }
            }
            else if (Frames.CRC_MISMATCH == status && c.crcRetries < MAX_CRC_RETRIES && current)
            {
                c.crcRetries++;
                pending.addFirst(c);
                LOG.log(System.Logger.Level.WARNING, "TCP agent " + backend.agentName() + ": " + c + " to '" + peer +
                    "' failed its CRC32C on " + p + "; resending (" + c.crcRetries + "/" + MAX_CRC_RETRIES + ")");
            }
            else if (current)
            {
                failedRequest = r;
                error = new FerryException(Frames.errorCode(status), (Frames.LOCAL_FREED == status ? "" :
                    "peer '" + peer + "' refused " + c + " of " + r + ": ") + Frames.statusName(status) + " " + reason);
            }
            dispatchLocked();
        }
        finally
        {
            lock.unlock();
            for (final TcpRequest r : fenced)
            {
                finish(r, null);
            }
        }
        if (null != done)
        {
            finish(done, null);
        }
        if (null != failedRequest)
        {
            finish(failedRequest, error);
        }
    }

    /**
     * Every byte of a post is acknowledged (and every FENCE it waited for): its notification goes out now, or, without
     * one, the post is done. Under the lock.
     *
     * @return the request when it is done, else null.
     */
    private TcpRequest dataDoneLocked(final TcpRequest r)
    {
        if (null == r.notification)
        {
            return r;
        }
        final Chunk n = new Chunk(r, Frames.NOTIFY_DATA, r.notification, null);
        n.post = r.post;
        pending.addFirst(n);
        return null;
    }

    /**
     * The target fenced an abandoned path: the posts that waited for it and have every byte acknowledged complete.
     * Under the lock.
     *
     * @return the posts now done (to finish outside the lock).
     */
    private List<TcpRequest> fenceAcknowledgedLocked(final Chunk fence)
    {
        List<TcpRequest> done = List.of();
        for (int i = 0; i < fence.fencedRequests.size(); i++)
        {
            final TcpRequest r = fence.fencedRequests.get(i);
            if (r.active && r.post == fence.fencedPosts[i] && 0 == --r.fencesPending && 0 == r.remaining)
            {
                final TcpRequest d = dataDoneLocked(r);
                if (null != d)
                {
                    if (done.isEmpty())
                    {
                        done = new ArrayList<>();
                    }
                    done.add(d);
                }
            }
        }
        return done;
    }

    /** Ends a post (success when error is null); a failed push with a notification tells the target. */
    void finish(final TcpRequest r, final FerryException error)
    {
        final byte[] notification;
        lock.lock();
        try
        {
            if (!r.active)
            {
                return;
            }
            r.active = false;
            active.remove(r);
            if (null != error)
            {
                pending.removeAll(r); // a failed post can leave chunks waiting; a repost reuses their objects
            }
            notification = r.notification;
            if (null != error && io.ferry.TransferOp.WRITE == r.op && null != notification && !failed)
            {
                pending.addFirst(new Chunk(null, Frames.NOTIFY_FAILURE, notification,
                    truncate(error.getMessage())));
                dispatchLocked();
            }
        }
        finally
        {
            lock.unlock();
        }
        if (null == error)
        {
            r.sink.onComplete();
        }
        else
        {
            r.sink.onFailure(error);
        }
    }

    /** @return the reason cut to at most {@link Frames#MAX_REASON} UTF-8 bytes (on a character boundary). */
    private static String truncate(final String reason)
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

    /**
     * The target is closing path {@code p} over a frame it could not parse (it said so with a MALFORMED status
     * and no chunk id). The frame was the oldest one written on the path that is still unanswered: its request
     * fails with the target's reason and its chunks are not replayed elsewhere (they would break every other path
     * the same way); the path then fails as usual and its other chunks move on.
     */
    void onConnectionRefused(final TcpPath p, final String reason)
    {
        TcpRequest failedRequest = null;
        Chunk culprit;
        lock.lock();
        try
        {
            culprit = p.oldestSent();
            if (null != culprit)
            {
                p.unacked.remove(culprit);
                p.inflightBytes -= culprit.bytes;
                final TcpRequest r = culprit.request;
                if (null != r && !culprit.isNotification())
                {
                    r.inFlight--;
                }
                if (null != r && r.active && culprit.post == r.post)
                {
                    failedRequest = r;
                }
            }
        }
        finally
        {
            lock.unlock();
        }
        LOG.log(System.Logger.Level.WARNING, "TCP agent " + backend.agentName() + ": peer '" + peer + "' closes " + p +
            " over a malformed frame (" + reason + "); " + (null == culprit ? "no frame was outstanding" :
            culprit + " is dropped, not resent"));
        if (null != failedRequest)
        {
            finish(failedRequest, new FerryException(ErrorCode.BACKEND, "peer '" + peer + "' refused " + culprit +
                " of " + failedRequest + " as malformed: " + reason));
        }
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

    /** Aborts a post: its waiting chunks are dropped; chunks on the wire finish harmlessly. */
    boolean abort(final TcpRequest r)
    {
        lock.lock();
        try
        {
            if (r.active)
            {
                r.active = false;
                active.remove(r);
                pending.removeAll(r);
            }
            return true;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** A path broke: requeue its chunks on the others, or fail the link when none is left. */
    void pathFailed(final TcpPath p, final Throwable cause)
    {
        final List<TcpRequest> lost;
        final String reason;
        final TcpPath[] all;
        lock.lock();
        try
        {
            all = paths;
            if (p.dead)
            {
                return;
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
            p.unacked.clear();
            p.sendQueue.clear();
            p.inflightBytes = 0;
            p.hasWork.signalAll();
            fenceLocked(p, requeue);
            boolean anyAlive = false;
            for (final TcpPath other : paths)
            {
                anyAlive |= !other.dead;
            }
            if (anyAlive)
            {
                if (!backend.closing())
                {
                    // a clean close by the peer (it is shutting down) with nothing in flight is routine; with
                    // chunks in flight it is news; anything else is trouble
                    LOG.log(cause instanceof java.io.EOFException ? (requeue.isEmpty() ? System.Logger.Level.DEBUG :
                        System.Logger.Level.INFO) : System.Logger.Level.WARNING, "TCP agent " + backend.agentName() + ": " + p + " failed (" +
                        cause + "); " + requeue.size() + " unacknowledged chunks go to the other paths");
                    scheduleReconnect(p);
                }
                dispatchLocked();
                lost = List.of();
                reason = null;
            }
            else
            {
                failed = true;
                reason = "every path to peer '" + peer + "' failed, last: " + p + ": " + cause;
                failure = reason;
                lost = new ArrayList<>(active);
                pending.clear();
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
                    finish(r, new FerryException(ErrorCode.REMOTE_DISCONNECT, reason));
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

    /**
     * A path is abandoned with WRITE chunks written on it and not acknowledged: their frames may still reach the
     * target late (queued in a socket, or on a link that comes back), over bytes a later request wrote. So a FENCE
     * for that connection goes first on another path, and those posts complete only once the target has fenced it
     * (see {@link Frames}). Under the lock.
     */
    private void fenceLocked(final TcpPath p, final List<Chunk> requeued)
    {
        final Set<TcpRequest> written = Collections.newSetFromMap(new IdentityHashMap<>());
        for (final Chunk c : requeued)
        {
            final TcpRequest r = c.request;
            if (null != r && !c.isNotification() && io.ferry.TransferOp.WRITE == r.op && 0 != c.sentNs && r.active &&
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

    private static boolean isPathThread(final TcpPath[] all, final Thread t)
    {
        if (null != all)
        {
            for (final TcpPath p : all)
            {
                if (p.ownsThread(t))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Reconnects a broken path in the background while the link lives: waits {@code reconnect_interval_ms},
     * doubling up to 16 times that, between attempts. A new path takes the old one's slot and its share of chunks.
     */
    private void scheduleReconnect(final TcpPath broken)
    {
        if (0 == config.reconnectIntervalMs())
        {
            return;
        }
        final Thread t = Thread.ofVirtual().name(backend.threadPrefix() + "-" + peer + "-p" + broken.index +
            "-reconnect").unstarted(() -> reconnect(broken));
        reconnecting.add(t);
        t.start();
    }

    private void reconnect(final TcpPath broken)
    {
        try
        {
            long waitMs = config.reconnectIntervalMs();
            while (!failed && !backend.closing())
            {
                try
                {
                    Thread.sleep(waitMs);
                }
                catch (final InterruptedException ex)
                {
                    return;
                }
                if (failed || backend.closing())
                {
                    return;
                }
                try
                {
                    final TcpPath fresh = connectPath(broken.index, broken.remote);
                    boolean installed = false;
                    lock.lock();
                    try
                    {
                        if (!failed && paths[broken.index] == broken)
                        {
                            final TcpPath[] next = paths.clone();
                            next[broken.index] = fresh;
                            paths = next;
                            installed = true;
                        }
                    }
                    finally
                    {
                        lock.unlock();
                    }
                    if (!installed)
                    {
                        BlockingSocketIo.closeQuietly(fresh.channel);
                        return;
                    }
                    fresh.start(backend.threadPrefix() + "-" + peer);
                    lock.lock();
                    try
                    {
                        dispatchLocked();
                    }
                    finally
                    {
                        lock.unlock();
                    }
                    LOG.log(System.Logger.Level.INFO, "TCP agent " + backend.agentName() + ": " + fresh +
                        " reconnected");
                    return;
                }
                catch (final IOException | RuntimeException ex)
                {
                    waitMs = Math.min(waitMs * 2, 16L * config.reconnectIntervalMs());
                }
            }
        }
        finally
        {
            reconnecting.remove(Thread.currentThread());
        }
    }

    /**
     * Checks acknowledgement deadlines (the watchdog's duty, with the clock passed in). Two rules:
     * <ul>
     *     <li><b>The deadline belongs to the data.</b> A chunk not acknowledged within {@code ack_timeout_ms} of its
     *     first write in this post, whatever paths it moved between, fails the link: every request to the peer
     *     ends REMOTE_DISCONNECT at that deadline (a frozen or wedged peer), not paths x the deadline later.</li>
     *     <li><b>A stalled path is left early.</b> A path whose oldest chunk has waited a quarter of the deadline (and
     *     eight of the path's smoothed round trips, so that a merely congested path is not taken for a dead one)
     *     while another path of the link had a reply since that chunk was written (so the peer is alive) is
     *     declared dead, and its chunks move to the other paths with most of their deadline left.</li>
     * </ul>
     *
     * @param nowNs the time now.
     * @return the number of paths it declared dead (all of them when the link failed).
     */
    int checkTimeouts(final long nowNs)
    {
        final TcpPath[] ps = paths;
        if (null == ps || failed)
        {
            return 0;
        }
        final long limit = config.ackTimeoutMs() * 1_000_000L;
        final long stall = limit / 4;
        TcpPath expired = null;
        Chunk expiredChunk = null;
        TcpPath stalled = null;
        Chunk stalledChunk = null;
        lock.lock();
        try
        {
            long latestReply = 0;
            for (final TcpPath p : ps)
            {
                if (!p.dead && p.lastReplyNs > latestReply)
                {
                    latestReply = p.lastReplyNs;
                }
            }
            for (final TcpPath p : ps)
            {
                final Chunk oldest = p.dead ? null : p.oldestSent();
                if (null == oldest)
                {
                    continue;
                }
                if (nowNs - oldest.firstSentNs > limit)
                {
                    expired = p;
                    expiredChunk = oldest;
                    break;
                }
                // a congested path's own round trip can be long: it is stalled only past 8 of them as well
                final long pathStall = Math.max(stall, 8 * p.controller.smoothedRttNs());
                if (null == stalled && nowNs - oldest.sentNs > pathStall && latestReply - oldest.sentNs > 0 &&
                    p.lastReplyNs - oldest.sentNs <= 0)
                {
                    stalled = p;
                    stalledChunk = oldest;
                }
            }
        }
        finally
        {
            lock.unlock();
        }
        if (null != expired)
        {
            failLink("no acknowledgement of " + expiredChunk + " from peer '" + peer + "' within ack_timeout_ms " +
                config.ackTimeoutMs() + " ms of its first write (last on " + expired + ")");
            return ps.length;
        }
        if (null != stalled)
        {
            pathFailed(stalled, new IOException("no acknowledgement of " + stalledChunk + " within " + stall /
                1_000_000 + " ms while other paths to the peer were answered"));
            return 1;
        }
        return 0;
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
        LOG.log(System.Logger.Level.WARNING, "TCP agent " + backend.agentName() + ": " + reason);
        closeAndJoin(stopped.paths());
        if (!backend.closing())
        {
            backend.linkFailed(this, reason);
        }
        for (final TcpRequest r : stopped.lost())
        {
            finish(r, new FerryException(ErrorCode.REMOTE_DISCONNECT, reason));
        }
    }

    /** Closes every path and fails what is in progress. */
    void close(final ErrorCode code, final String why)
    {
        final Stopped stopped = stop(why, false);
        for (final TcpRequest r : stopped.lost())
        {
            finish(r, new FerryException(code, why));
        }
        closeAndJoin(stopped.paths());
    }

    /**
     * What {@link #stop} took down.
     *
     * @param lost  the requests that were in progress.
     * @param paths the paths (null when none had connected).
     */
    private record Stopped(List<TcpRequest> lost, TcpPath[] paths)
    {
    }

    /**
     * Marks the link failed (no more posts), its paths dead and its waiting chunks dropped, and stops reconnecting.
     *
     * @param reason   what every later post will be told.
     * @param onlyOnce when true, returns null if the link had failed already.
     * @return the requests in progress and the paths, to be ended and closed outside the lock.
     */
    private Stopped stop(final String reason, final boolean onlyOnce)
    {
        final Stopped stopped;
        lock.lock();
        try
        {
            if (onlyOnce && failed)
            {
                return null;
            }
            failed = true;
            failure = reason;
            stopped = new Stopped(new ArrayList<>(active), paths);
            pending.clear();
            if (null != stopped.paths())
            {
                for (final TcpPath p : stopped.paths())
                {
                    p.dead = true;
                    p.hasWork.signalAll();
                }
            }
        }
        finally
        {
            lock.unlock();
        }
        for (final Thread t : reconnecting)
        {
            t.interrupt();
        }
        return stopped;
    }

    /**
     * Closes the paths' sockets and waits (at most 5 s each) for their threads to end, except the calling thread;
     * stops waiting, keeping the interrupt, when interrupted.
     */
    private static void closeAndJoin(final TcpPath[] ps)
    {
        if (null == ps)
        {
            return;
        }
        for (final TcpPath p : ps)
        {
            BlockingSocketIo.closeQuietly(p.channel);
        }
        for (final TcpPath p : ps)
        {
            try
            {
                p.join(5000);
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
            paths[index].channel.shutdownOutput();
            paths[index].channel.shutdownInput();
        }
        catch (final java.nio.channels.ClosedChannelException ex)
        {
            // the path noticed the first shutdown and closed itself: broken either way
        }
    }

    TcpPath[] paths()
    {
        return paths;
    }

    List<io.ferry.PathStats> stats()
    {
        final List<io.ferry.PathStats> out = new ArrayList<>();
        final long now = System.nanoTime();
        lock.lock();
        try
        {
            final TcpPath[] ps = paths;
            if (null != ps)
            {
                for (final TcpPath p : ps)
                {
                    out.add(new io.ferry.PathStats(TcpBackendProvider.NAME, peer, p.index, !p.dead,
                        p.controller.windowBytes(), p.inflightBytes, p.controller.smoothedRttNs(), p.bytesAcked,
                        (long)(p.deliveryRate(now) * 1e9)));
                }
            }
        }
        finally
        {
            lock.unlock();
        }
        return out;
    }

}
