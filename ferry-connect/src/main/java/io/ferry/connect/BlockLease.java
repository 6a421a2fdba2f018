package io.ferry.connect;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Blocks of a {@link BlockPool} held for a peer until it says done ({@link PeerPool#release}) or the lease expires
 * (vLLM keeps prefilled KV blocks for the decoder this way). The peer extends the lease by heartbeat
 * ({@link PeerPool#heartbeat}); a lost peer ends it at once. The end is always reported: to
 * {@link BlockPool#onLeaseEnd listeners}, in the log when it expired, and by {@link #awaitEnd}.
 */
public final class BlockLease
{
    /** Where a lease stands. */
    public enum State
    {
        /** The blocks are held. */
        HELD,
        /** The peer released them: it has what it needed. */
        RELEASED,
        /** No heartbeat or release came in time, or the peer was lost: the blocks were freed anyway. */
        EXPIRED,
        /** The holder ended it ({@link BlockLease#cancel}). */
        CANCELLED
    }

    private final BlockPool pool;
    private final String peer;
    private final String requestId;
    private final int[] blocks;
    private final long durationNs;
    private final CompletableFuture<State> ended = new CompletableFuture<>();
    private volatile long expiresAtNs;
    private volatile State state = State.HELD;
    private volatile String reason;

    BlockLease(final BlockPool pool, final String peer, final String requestId, final int[] blocks,
        final long durationNs, final long nowNs)
    {
        this.pool = pool;
        this.peer = peer;
        this.requestId = requestId;
        this.blocks = blocks;
        this.durationNs = durationNs;
        this.expiresAtNs = nowNs + durationNs;
    }

    BlockPool pool()
    {
        return pool;
    }

    /**
     * @return the peer the blocks are held for.
     */
    public String peer()
    {
        return peer;
    }

    /**
     * @return the request id naming the lease between the two sides.
     */
    public String requestId()
    {
        return requestId;
    }

    /**
     * @return the held block ids (a copy).
     */
    public int[] blocks()
    {
        return blocks.clone();
    }

    /**
     * @return where the lease stands.
     */
    public State state()
    {
        return state;
    }

    /**
     * @return why it ended, or null while held.
     */
    public String reason()
    {
        return reason;
    }

    /**
     * @return how long each heartbeat extends it.
     */
    public Duration duration()
    {
        return Duration.ofNanos(durationNs);
    }

    /**
     * @return the {@link System#nanoTime()} at which it expires unless extended.
     */
    public long expiresAtNanos()
    {
        return expiresAtNs;
    }

    /**
     * Waits for the lease to end.
     *
     * @param timeout the most to wait.
     * @return how it ended.
     * @throws FerryException TIMED_OUT while still held at the deadline.
     */
    public State awaitEnd(final Duration timeout)
    {
        try
        {
            return ended.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        }
        catch (final TimeoutException ex)
        {
            throw new FerryException(ErrorCode.TIMED_OUT, this + " still held after " + timeout);
        }
        catch (final ExecutionException ex)
        {
            throw new FerryException(ErrorCode.UNKNOWN, "lease ended abnormally: " + ex.getCause(), ex.getCause());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for " + this, ex);
        }
    }

    /**
     * Ends the lease now, freeing its blocks (the holder decided, e.g. on shutdown).
     *
     * @return true when this call ended it.
     */
    public boolean cancel()
    {
        return pool.endLease(this, State.CANCELLED, "cancelled by the holder");
    }

    boolean extend(final long nowNs)
    {
        if (State.HELD != state)
        {
            return false;
        }
        expiresAtNs = nowNs + durationNs;
        return true;
    }

    /** Marks the end; only the pool calls this, under its lock, once. */
    void end(final State how, final String why)
    {
        reason = why;
        state = how;
    }

    void reportEnd()
    {
        ended.complete(state);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "lease on " + blocks.length + " block(s) for " + peer + " (request " + requestId + ", " + state + ")";
    }
}
