package io.ferry;

import io.ferry.spi.Backend;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.TransferSink;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A transfer request (NIXL's {@code nixlXferReqH}): made once by {@link Agent#transfer} or
 * {@link Agent#createTransfer}, posted any number of times, one post at a time.
 * <p>
 * {@code NOT_POSTED → IN_PROGRESS → DONE | FAILED}. Completion needs no polling: watch {@link #status()}, block in
 * {@link #await(Duration)}, or chain on {@link #completion()}. Posting while in progress is REPOST_ACTIVE.
 * All methods are thread-safe.
 */
public final class Transfer implements AutoCloseable
{
    private static final int NOT_POSTED = 0;
    private static final int IN_PROGRESS = 1;
    private static final int DONE = 2;
    private static final int FAILED = 3;
    private static final VarHandle STATE;

    static
    {
        try
        {
            STATE = MethodHandles.lookup().findVarHandle(Transfer.class, "state", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final TransferOwner agent;
    private final TransferOp op;
    private final Backend backend;
    private final PreparedList remote;
    private final LocalRegion[] localRegions;
    private final long localEpoch;
    private final long totalBytes;
    private final int descriptorCount;
    private final Sink sink = new Sink();
    private BackendRequest request;
    private volatile byte[] notification;

    private volatile int state = NOT_POSTED;
    private volatile boolean closed;
    private volatile FerryException error;
    private volatile CompletableFuture<Transfer> future;
    private volatile long postStartNs;
    private volatile long postEndNs;
    private volatile long completeNs;

    Transfer(
        final TransferOwner agent,
        final TransferOp op,
        final Backend backend,
        final PreparedList remote,
        final LocalRegion[] localRegions,
        final long localEpoch,
        final long totalBytes,
        final int descriptorCount,
        final byte[] notification)
    {
        this.agent = agent;
        this.op = op;
        this.backend = backend;
        this.remote = remote;
        this.localRegions = localRegions;
        this.localEpoch = localEpoch;
        this.totalBytes = totalBytes;
        this.descriptorCount = descriptorCount;
        this.notification = notification;
    }

    TransferSink sink()
    {
        return sink;
    }

    void request(final BackendRequest request)
    {
        this.request = request;
    }

    /**
     * Starts the transfer with the notification it was made with.
     *
     * @return DONE when it completed inside this call, else IN_PROGRESS (or FAILED if it already failed).
     * @throws FerryException REPOST_ACTIVE while a previous post is in progress; NOT_FOUND when the peer was
     *                        invalidated or re-loaded, or a region was deregistered, since the transfer was made;
     *                        NOT_ALLOWED once closed; a backend error when the post could not start.
     */
    public TransferStatus post()
    {
        return post(notification);
    }

    /**
     * Starts the transfer with other options; a notification given here replaces the one the transfer carries
     * (for this and later posts), and options without one clear it (as NIXL's {@code postXferReq}).
     *
     * @param options the notification to carry.
     * @return as {@link #post()}.
     */
    public TransferStatus post(final TransferOptions options)
    {
        final byte[] n = options.notificationUnsafe();
        notification = n;
        return post(n);
    }

    private TransferStatus post(final byte[] notif)
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "transfer " + this + " was closed");
        }
        int s;
        do
        {
            s = state;
            if (IN_PROGRESS == s)
            {
                throw new FerryException(ErrorCode.REPOST_ACTIVE, "transfer " + this + " is still in progress");
            }
        }
        while (!STATE.compareAndSet(this, s, IN_PROGRESS));

        error = null;
        postEndNs = 0;
        completeNs = 0;
        future = new CompletableFuture<>();
        postStartNs = System.nanoTime();
        try
        {
            agent.checkPostable(this, remote, localRegions, localEpoch);
            backend.post(request, notif);
        }
        catch (final FerryException ex)
        {
            sink.onFailure(ex);
            throw ex;
        }
        catch (final RuntimeException ex)
        {
            final FerryException fe = new FerryException(ErrorCode.BACKEND, "backend " + backend.name() +
                " failed to post " + this + ": " + ex, ex);
            sink.onFailure(fe);
            throw fe;
        }
        finally
        {
            postEndNs = System.nanoTime();
        }
        return status();
    }

    /**
     * @return where the transfer stands.
     */
    public TransferStatus status()
    {
        return switch (state)
        {
            case NOT_POSTED -> TransferStatus.NOT_POSTED;
            case IN_PROGRESS -> TransferStatus.IN_PROGRESS;
            case DONE -> TransferStatus.DONE;
            default -> TransferStatus.FAILED;
        };
    }

    /**
     * @return why the last post failed, or null when it did not.
     */
    public FerryException error()
    {
        return error;
    }

    /**
     * Waits for the current post to end, up to the agent's default timeout.
     *
     * @throws FerryException as {@link #await(Duration)}.
     */
    public void await()
    {
        await(agent.defaultTimeout());
    }

    /**
     * Waits for the current post to end.
     *
     * @param timeout the most to wait.
     * @throws FerryException NOT_POSTED if never posted; TIMED_OUT at the deadline (the transfer goes on); the
     *                        post's own error if it failed; CANCELED if interrupted.
     */
    public void await(final Duration timeout)
    {
        final CompletableFuture<Transfer> f = future;
        if (null == f)
        {
            throw new FerryException(ErrorCode.NOT_POSTED, "transfer " + this + " was never posted");
        }
        try
        {
            // Spin briefly before parking where the backend says it pays (a small network round trip, a GPU copy):
            // a park and unpark cost tens of microseconds on a loaded host. Otherwise park at once, leaving the CPU
            // to the threads that move the bytes.
            final long spin = Math.min(backend.awaitSpinNanos(totalBytes), timeout.toNanos());
            final long spinEnd = System.nanoTime() + spin;
            while (!f.isDone() && System.nanoTime() - spinEnd < 0)
            {
                Thread.onSpinWait();
            }
            f.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        }
        catch (final TimeoutException ex)
        {
            throw new FerryException(ErrorCode.TIMED_OUT, "transfer " + this + " still in progress after " +
                timeout);
        }
        catch (final ExecutionException ex)
        {
            final Throwable cause = ex.getCause();
            if (cause instanceof FerryException fe)
            {
                throw new FerryException(fe.code(), "transfer " + this + " failed (" + fe.getMessage() + ")", fe);
            }
            throw new FerryException(ErrorCode.UNKNOWN, "transfer " + this + " failed: " + cause, cause);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for " + this, ex);
        }
    }

    /**
     * @return a future of the current post: completes with this transfer when DONE, exceptionally with the
     * {@link FerryException} when it fails; for a transfer never posted, a future failed with NOT_POSTED.
     */
    public CompletableFuture<Transfer> completion()
    {
        final CompletableFuture<Transfer> f = future;
        if (null == f)
        {
            return CompletableFuture.failedFuture(new FerryException(ErrorCode.NOT_POSTED, "transfer " + this +
                " was never posted"));
        }
        return f.copy();
    }

    /**
     * @return what the last completed post cost.
     * @throws FerryException NOT_POSTED before the first post; NO_TELEMETRY while a post is in progress.
     */
    public TransferTelemetry telemetry()
    {
        final int s = state;
        if (NOT_POSTED == s)
        {
            throw new FerryException(ErrorCode.NOT_POSTED, "transfer " + this + " was never posted");
        }
        if (IN_PROGRESS == s)
        {
            throw new FerryException(ErrorCode.NO_TELEMETRY, "transfer " + this + " is still in progress");
        }
        final long start = postStartNs;
        final long postEnd = 0 == postEndNs ? completeNs : postEndNs;
        return new TransferTelemetry(agent.instantOf(start), Duration.ofNanos(Math.max(0, postEnd - start)),
            Duration.ofNanos(Math.max(0, completeNs - start)), totalBytes, descriptorCount,
            null == request ? null : request.route());
    }

    /**
     * @return READ or WRITE.
     */
    public TransferOp op()
    {
        return op;
    }

    /**
     * @return the name of the backend that moves the bytes (NIXL's {@code queryXferBackend}).
     */
    public String backend()
    {
        return backend.name();
    }

    /**
     * @return the target agent's name.
     */
    public String peer()
    {
        return remote.peer;
    }

    /**
     * @return bytes moved per post.
     */
    public long totalBytes()
    {
        return totalBytes;
    }

    /**
     * @return descriptors after merging consecutive ones.
     */
    public int descriptorCount()
    {
        return descriptorCount;
    }

    /**
     * Releases the request. A post in progress is aborted when the backend can; otherwise this throws and the
     * transfer stays open (close it again once it ended).
     *
     * @throws FerryException REPOST_ACTIVE when an in-progress post cannot be aborted now.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        if (IN_PROGRESS == state)
        {
            if (!backend.abort(request))
            {
                throw new FerryException(ErrorCode.REPOST_ACTIVE, "transfer " + this + " is in progress and " +
                    backend.name() + " cannot abort it now; close it after it ends");
            }
            sink.onFailure(new FerryException(ErrorCode.CANCELED, "transfer " + this + " was closed while in " +
                "progress"));
        }
        closed = true;
        if (null != request)
        {
            request.release();
        }
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return op + "(" + agent.name() + " -> " + remote.peer + ", " + descriptorCount + " descs, " + totalBytes +
            " B, " + backend.name() + ")";
    }

    private final class Sink implements TransferSink
    {
        public void onComplete()
        {
            completeNs = System.nanoTime();
            if (STATE.compareAndSet(Transfer.this, IN_PROGRESS, DONE))
            {
                if (agent.observed())
                {
                    agent.observeTransfer(Transfer.this, completeNs - postStartNs, null);
                }
                future.complete(Transfer.this);
            }
        }

        public void onFailure(final FerryException ex)
        {
            if (ErrorCode.REMOTE_DISCONNECT == ex.code())
            {
                // the peer is dropped before anyone can see the failure
                agent.peerDisconnected(remote, ex.getMessage());
            }
            completeNs = System.nanoTime();
            error = ex;
            if (STATE.compareAndSet(Transfer.this, IN_PROGRESS, FAILED))
            {
                if (agent.observed())
                {
                    agent.observeTransfer(Transfer.this, completeNs - postStartNs, ex);
                }
                future.completeExceptionally(ex);
            }
        }
    }
}
