package io.ferry.tcp;

import io.ferry.TransferOp;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.util.Arrays;

/**
 * A prepared TCP request: its spans cut once into pieces and chunks. A piece is the part of one span that falls in
 * one chunk; a chunk holds at most {@code max_spans_per_chunk} pieces and {@code chunk_size} bytes, and a large
 * request's last bytes go in smaller chunks ({@code tail_chunk_size}) so that its paths can finish together.
 * Post state is guarded by the peer link's lock.
 */
final class TcpRequest implements BackendRequest
{
    final TransferOp op;
    final String peer;
    final TransferSink sink;
    final long totalBytes;

    private final ResolvedDescs local;
    private final ResolvedDescs remote;
    /** The cut's chunk size (recut to a peer's limits: see {@link #cut}). */
    int chunkSize;

    // the cut: pieces and chunks; replaced only by cut(), while no chunk of the request is queued or in flight
    TcpRegion[] localRegion;
    long[] localOffset;
    long[] remoteKey;
    long[] remoteOffset;
    int[] pieceLength;
    int pieceCount;
    /** The largest frame body any of its chunks needs: the WRITE or READ_REQ frame, or a READ's reply. */
    long maxFrameBody;
    /** The most spans in one of its chunks. */
    int maxChunkSpans;
    Chunk[] chunks;

    // post state, under the link's lock
    boolean active;
    int post;
    int remaining;
    int inFlight;
    /** FENCEs this post's completion waits for (its WRITE chunks moved off a path that may still deliver them). */
    int fencesPending;
    byte[] notification;
    /**
     * A READ smaller than {@code paths} whole chunks keeps its sub-requests on one path (see {@link LinkScheduler});
     * set by the backend when it prepares the request.
     */
    boolean onePath;
    /** The path this post's sub-requests stay on (with {@link #onePath}); null until its first is placed. */
    PathState homePath;

    TcpRequest(
        final TransferOp op,
        final ResolvedDescs local,
        final ResolvedDescs remote,
        final String peer,
        final TransferSink sink,
        final int chunkSize,
        final long tailBytes,
        final int tailChunkSize,
        final int maxPieces)
    {
        this.op = op;
        this.peer = peer;
        this.sink = sink;
        this.local = local;
        this.remote = remote;
        this.totalBytes = local.totalBytes();
        this.localRegions = distinctRegions(local);
        cut(chunkSize, tailBytes, tailChunkSize, maxPieces);
    }

    /**
     * Cuts the request into pieces and chunks: at most {@code chunkSize} bytes and {@code maxPieces} pieces a chunk,
     * the last {@code tailBytes} in chunks of {@code tailChunkSize}. Called again (by the link, under its lock, while
     * nothing of the request is queued or in flight) when the peer announces smaller limits than this agent's.
     */
    void cut(final int chunkSize, final long tailBytes, final int tailChunkSize, final int maxPieces)
    {
        this.chunkSize = chunkSize;
        int capacity = local.count() + (int)Math.min(Integer.MAX_VALUE / 2, local.totalBytes() / chunkSize) + 1;
        TcpRegion[] lr = new TcpRegion[capacity];
        long[] lo = new long[capacity];
        long[] rk = new long[capacity];
        long[] ro = new long[capacity];
        int[] len = new int[capacity];
        int pieces = 0;
        final java.util.List<Chunk> made = new java.util.ArrayList<>();
        int chunkFirst = 0;
        long chunkBytes = 0;
        long total = 0;
        final long tailStart = local.totalBytes() - tailBytes;
        int limit = chunkLimit(0, tailStart, chunkSize, tailChunkSize);
        for (int s = 0; s < local.count(); s++)
        {
            final TcpRegion region = (TcpRegion)local.handle(s);
            final long key = ((TcpRemoteRegion)remote.handle(s)).key();
            long localOff = local.offset(s);
            long remoteOff = remote.offset(s);
            long left = local.length(s);
            while (left > 0)
            {
                if (pieces - chunkFirst == maxPieces || chunkBytes == limit)
                {
                    made.add(new Chunk(this, chunkFirst, pieces - chunkFirst, chunkBytes));
                    chunkFirst = pieces;
                    chunkBytes = 0;
                    limit = chunkLimit(total, tailStart, chunkSize, tailChunkSize);
                }
                final int take = (int)Math.min(left, limit - chunkBytes);
                if (pieces == lr.length)
                {
                    final int n = lr.length * 2;
                    lr = Arrays.copyOf(lr, n);
                    lo = Arrays.copyOf(lo, n);
                    rk = Arrays.copyOf(rk, n);
                    ro = Arrays.copyOf(ro, n);
                    len = Arrays.copyOf(len, n);
                }
                lr[pieces] = region;
                lo[pieces] = localOff;
                rk[pieces] = key;
                ro[pieces] = remoteOff;
                len[pieces] = take;
                pieces++;
                chunkBytes += take;
                total += take;
                localOff += take;
                remoteOff += take;
                left -= take;
            }
        }
        if (pieces > chunkFirst)
        {
            made.add(new Chunk(this, chunkFirst, pieces - chunkFirst, chunkBytes));
        }
        localRegion = lr;
        localOffset = lo;
        remoteKey = rk;
        remoteOffset = ro;
        pieceLength = len;
        pieceCount = pieces;
        chunks = made.toArray(new Chunk[0]);
        long frame = 0;
        int spans = 0;
        final boolean write = TransferOp.WRITE == op;
        for (final Chunk c : chunks)
        {
            frame = Math.max(frame, Math.max(Frames.chunkBody(c.pieceCount, write ? c.bytes : 0),
                write ? 0 : Frames.replyBody(c.bytes)));
            spans = Math.max(spans, c.pieceCount);
        }
        maxFrameBody = frame;
        maxChunkSpans = spans;
    }

    /** The distinct local regions of the request's descriptors (a post checks each is alive, not each piece). */
    private final TcpRegion[] localRegions;

    private static TcpRegion[] distinctRegions(final ResolvedDescs local)
    {
        final java.util.Set<TcpRegion> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (int i = 0; i < local.count(); i++)
        {
            seen.add((TcpRegion)local.handle(i));
        }
        return seen.toArray(new TcpRegion[0]);
    }

    /**
     * The size of the chunk that starts {@code at} bytes into the request: whole chunks up to where the tail starts
     * (the last one ending there), tail chunks after it, so that the paths finish together (see
     * {@link TcpConfig#tailBytesFor}).
     */
    private static int chunkLimit(final long at, final long tailStart, final int chunkSize, final int tailChunkSize)
    {
        return at < tailStart ? (int)Math.min(chunkSize, tailStart - at) : tailChunkSize;
    }

    /**
     * @param c a chunk of this request, or null for all of it.
     * @return a local region of the chunk (or request) whose host memory was freed behind ferry's back, or null.
     */
    TcpRegion freedLocalRegion(final Chunk c)
    {
        if (null == c)
        {
            for (final TcpRegion region : localRegions)
            {
                if (!region.memoryAlive())
                {
                    return region;
                }
            }
            return null;
        }
        final int from = c.firstPiece;
        final int to = c.firstPiece + c.pieceCount;
        TcpRegion last = null;
        for (int p = from; p < to; p++)
        {
            final TcpRegion region = localRegion[p];
            if (region != last)
            {
                if (!region.memoryAlive())
                {
                    return region;
                }
                last = region;
            }
        }
        return null;
    }

    /** Fresh chunk objects, for a post that starts while chunks of a failed earlier post are still in flight. */
    void renewChunks()
    {
        final Chunk[] fresh = new Chunk[chunks.length];
        for (int i = 0; i < chunks.length; i++)
        {
            final Chunk c = chunks[i];
            fresh[i] = new Chunk(this, c.firstPiece, c.pieceCount, c.bytes);
        }
        chunks = fresh;
    }

    public String toString()
    {
        return op + " to '" + peer + "' (" + totalBytes + " B in " + chunks.length + " chunks)";
    }
}
