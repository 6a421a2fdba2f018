package io.ferry.connect;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.Registration;
import io.ferry.Transfer;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One transfer operation of a {@link Connector} (Dynamo's Readable/Writable/Read/WriteOperation). The passive side
 * (the owner of memory made readable or writable) waits for a peer to move the bytes; the active side (a read, a
 * write, a block-pool transfer) moves them. Every wait has a deadline, and the passive side ends ERRORED when the
 * peer reports a failure, cancels, or is lost, rather than waiting forever. Thread-safe; close it when done: that
 * deregisters its memory, so a peer can no longer reach it.
 */
public final class Operation implements AutoCloseable
{
    /** Which side of an operation this is. */
    public enum Role
    {
        /** Owns memory made readable; a peer reads it. */
        READABLE,
        /** Owns memory made writable; a peer writes it. */
        WRITABLE,
        /** Reads a peer's readable memory. */
        READ,
        /** Writes a peer's writable memory. */
        WRITE;

        /**
         * @return true for READABLE and WRITABLE, the sides that wait for a peer.
         */
        public boolean isPassive()
        {
            return this == READABLE || this == WRITABLE;
        }
    }

    private final Connector connector;
    private final Role role;
    private final String key;
    private final long totalBytes;
    private final TransferMetadata metadata;
    private final AtomicReference<OperationStatus> status = new AtomicReference<>(OperationStatus.INITIALIZED);
    private final CompletableFuture<Operation> done = new CompletableFuture<>();
    private final long createdNs = System.nanoTime();
    private volatile Registration registration;
    private volatile Transfer transfer;
    private volatile String peer;
    private volatile FerryException error;
    private volatile long endNs;
    private volatile boolean cancelRequested;

    Operation(final Connector connector, final Role role, final String key, final long totalBytes,
        final TransferMetadata metadata, final String peer)
    {
        this.connector = connector;
        this.role = role;
        this.key = key;
        this.totalBytes = totalBytes;
        this.metadata = metadata;
        this.peer = peer;
    }

    /**
     * @return which side this is.
     */
    public Role role()
    {
        return role;
    }

    /**
     * @return the key naming this operation in notifications.
     */
    public String key()
    {
        return key;
    }

    /**
     * @return where it stands.
     */
    public OperationStatus status()
    {
        return status.get();
    }

    /**
     * @return why it ended ERRORED or CANCELLED, or null.
     */
    public FerryException error()
    {
        return error;
    }

    /**
     * @return the peer agent: the target of an active operation; for a passive one the agent that began moving
     * the bytes, or null before any did.
     */
    public String peer()
    {
        return peer;
    }

    /**
     * @return the bytes this operation moves.
     */
    public long totalBytes()
    {
        return totalBytes;
    }

    /**
     * What to hand the peer (passive side only).
     *
     * @return the transfer metadata.
     * @throws FerryException NOT_ALLOWED on an active operation.
     */
    public TransferMetadata metadata()
    {
        if (null == metadata)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "operation " + key + " is a " + role +
                "; only readable and writable operations have metadata to hand out");
        }
        return metadata;
    }

    /**
     * @return nanoseconds from creation to the end, or -1 while it runs.
     */
    public long elapsedNanos()
    {
        final long e = endNs;
        return 0 == e ? -1 : e - createdNs;
    }

    /**
     * @return a future completed with this operation when it is COMPLETE, exceptionally with its error when it
     * ends ERRORED or CANCELLED.
     */
    public CompletableFuture<Operation> completion()
    {
        return done.copy();
    }

    /**
     * Waits for the operation to complete.
     *
     * @param timeout the most to wait.
     * @throws FerryException TIMED_OUT at the deadline (the operation goes on; cancel or close it to stop it);
     *                        the operation's error when it ended ERRORED; CANCELED when it was cancelled or the wait
     *                        interrupted.
     */
    public void awaitCompletion(final Duration timeout)
    {
        try
        {
            done.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        }
        catch (final TimeoutException ex)
        {
            throw new FerryException(ErrorCode.TIMED_OUT, this + " not complete after " + timeout + " (" +
                status.get() + ")");
        }
        catch (final ExecutionException ex)
        {
            final FerryException fe = (FerryException)ex.getCause();
            throw new FerryException(fe.code(), fe.getMessage(), fe);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for " + this, ex);
        }
    }

    /**
     * Cancels the operation unless it already ended: an active transfer is aborted, a passive one's memory is
     * deregistered so no peer can reach it any more, and the peer is told (best effort).
     *
     * @return true when this call cancelled it; false when it had already ended.
     * @throws FerryException REPOST_ACTIVE when the backend cannot abort the transfer in flight now.
     */
    public boolean cancel()
    {
        if (status.get().isTerminal())
        {
            return false;
        }
        final Transfer t = transfer;
        cancelRequested = true;
        if (null != t)
        {
            try
            {
                t.close();
            }
            catch (final FerryException ex)
            {
                cancelRequested = false;
                throw ex;
            }
        }
        end(OperationStatus.CANCELLED, new FerryException(ErrorCode.CANCELED, this + " was cancelled"));
        if (OperationStatus.CANCELLED != status.get())
        {
            return false;
        }
        final String p = peer;
        if (null != p)
        {
            connector.sendControl(p, ControlMessage.CANCEL, key, "cancelled by " + connector.name());
        }
        return true;
    }

    /**
     * Cancels the operation if it still runs and deregisters its memory. Idempotent.
     */
    public void close()
    {
        if (!status.get().isTerminal())
        {
            try
            {
                cancel();
            }
            catch (final FerryException ex)
            {
                // the transfer could not be aborted: it fails with CANCELED when its memory goes below
                end(OperationStatus.CANCELLED, new FerryException(ErrorCode.CANCELED, this + " was closed"));
            }
        }
        release();
    }

    // ------------------------------------------------------------------------------------ used by the connector

    void registration(final Registration r)
    {
        registration = r;
    }

    void transfer(final Transfer t)
    {
        transfer = t;
    }

    /** The passive side heard a peer begin. */
    void begun(final String by)
    {
        if (null == peer)
        {
            peer = by;
        }
        status.compareAndSet(OperationStatus.INITIALIZED, OperationStatus.IN_PROGRESS);
    }

    void started()
    {
        status.compareAndSet(OperationStatus.INITIALIZED, OperationStatus.IN_PROGRESS);
    }

    boolean complete()
    {
        return end(OperationStatus.COMPLETE, null);
    }

    boolean fail(final FerryException ex)
    {
        // the abort of a cancel() fails the transfer with CANCELED: that ends the operation CANCELLED
        return end(cancelRequested && ErrorCode.CANCELED == ex.code() ? OperationStatus.CANCELLED :
            OperationStatus.ERRORED, ex);
    }

    private boolean end(final OperationStatus terminal, final FerryException ex)
    {
        OperationStatus s;
        do
        {
            s = status.get();
            if (s.isTerminal())
            {
                return false;
            }
        }
        while (!status.compareAndSet(s, terminal));
        error = ex;
        endNs = System.nanoTime();
        release();
        connector.ended(this);
        if (null == ex)
        {
            done.complete(this);
        }
        else
        {
            done.completeExceptionally(ex);
        }
        return true;
    }

    private void release()
    {
        final Transfer t = transfer;
        if (null != t && status.get().isTerminal())
        {
            try
            {
                t.close();
            }
            catch (final FerryException ex)
            {
                // still in flight; it ends on its own and its memory is deregistered below
            }
        }
        final Registration r = registration;
        if (null != r)
        {
            registration = null;
            connector.deregisterQuietly(r);
        }
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return role.name().toLowerCase(java.util.Locale.ROOT) + " operation " + key + " (" + totalBytes + " B" +
            (null != peer ? ", peer " + peer : "") + ")";
    }
}
