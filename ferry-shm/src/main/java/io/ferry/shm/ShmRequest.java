package io.ferry.shm;

import io.ferry.FerryException;
import io.ferry.TransferOp;
import io.ferry.internal.Posix;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A prepared SHM request: its spans as pieces in parallel arrays, cut into parts of equal bytes (one per copy
 * thread for a large request, one in all for a small one), each part with its own native iovec arrays for
 * cross-memory attach. Built once; a post allocates nothing.
 */
final class ShmRequest implements BackendRequest
{
    final TransferOp op;
    final ShmPeer peer;
    final TransferSink sink;
    final ShmLocalRegion[] localRegion;
    final long[] localOffset;
    final ShmPeerRegion[] remoteRegion;
    final long[] remoteOffset;
    final long[] length;
    final ShmPeerRegion[] distinctRemote;
    final Part[] parts;
    final long totalBytes;
    final AtomicBoolean inProgress = new AtomicBoolean();
    final AtomicInteger remaining = new AtomicInteger();
    volatile FerryException error;
    byte[] notification;

    /** A contiguous run of pieces that one thread moves. */
    static final class Part implements Runnable
    {
        final ShmRequest request;
        final int from;
        final int to;
        final MemorySegment localIov;
        final MemorySegment remoteIov;
        final int iovCapacity;
        final MemorySegment capture;
        private final ShmBackend backend;

        Part(final ShmRequest request, final ShmBackend backend, final int from, final int to, final Arena arena)
        {
            this.request = request;
            this.backend = backend;
            this.from = from;
            this.to = to;
            int cross = 0;
            for (int i = from; i < to; i++)
            {
                if (ShmPeerRegion.Reach.CROSS_MEMORY == request.remoteRegion[i].reach)
                {
                    cross++;
                }
            }
            this.iovCapacity = Math.min(cross, Posix.IOV_MAX);
            this.localIov = 0 == iovCapacity ? MemorySegment.NULL : arena.allocate((long)iovCapacity *
                Posix.IOVEC_BYTES, 8);
            this.remoteIov = 0 == iovCapacity ? MemorySegment.NULL : arena.allocate((long)iovCapacity *
                Posix.IOVEC_BYTES, 8);
            this.capture = Posix.captureSegment(arena);
        }

        public void run()
        {
            backend.runPart(this);
        }
    }

    ShmRequest(final TransferOp op, final ShmPeer peer, final TransferSink sink, final ResolvedDescs local,
        final ResolvedDescs remote, final int partCount, final ShmBackend backend)
    {
        this.op = op;
        this.peer = peer;
        this.sink = sink;
        this.totalBytes = local.totalBytes();
        final int n = local.count();
        final int parts = (int)Math.max(1, Math.min(partCount, totalBytes));
        final long per = (totalBytes + parts - 1) / parts;
        // the pieces: each span, cut where a part ends inside it
        final int capacity = n + parts;
        final ShmLocalRegion[] lr = new ShmLocalRegion[capacity];
        final long[] lo = new long[capacity];
        final ShmPeerRegion[] rr = new ShmPeerRegion[capacity];
        final long[] ro = new long[capacity];
        final long[] len = new long[capacity];
        final int[] partEnds = new int[parts];
        int pieces = 0;
        int part = 0;
        long inPart = 0;
        for (int i = 0; i < n; i++)
        {
            long at = 0;
            final long spanLength = local.length(i);
            while (at < spanLength)
            {
                final long take = Math.min(spanLength - at, per - inPart);
                lr[pieces] = (ShmLocalRegion)local.handle(i);
                lo[pieces] = local.offset(i) + at;
                rr[pieces] = (ShmPeerRegion)remote.handle(i);
                ro[pieces] = remote.offset(i) + at;
                len[pieces] = take;
                pieces++;
                at += take;
                inPart += take;
                if (inPart == per && part < parts - 1)
                {
                    partEnds[part++] = pieces;
                    inPart = 0;
                }
            }
        }
        final int partsUsed = part + 1;
        partEnds[part] = pieces;
        this.localRegion = java.util.Arrays.copyOf(lr, pieces);
        this.localOffset = java.util.Arrays.copyOf(lo, pieces);
        this.remoteRegion = java.util.Arrays.copyOf(rr, pieces);
        this.remoteOffset = java.util.Arrays.copyOf(ro, pieces);
        this.length = java.util.Arrays.copyOf(len, pieces);
        final java.util.Set<ShmPeerRegion> distinct = java.util.Collections.newSetFromMap(
            new java.util.IdentityHashMap<>());
        for (final ShmPeerRegion r : remoteRegion)
        {
            distinct.add(r);
        }
        this.distinctRemote = distinct.toArray(new ShmPeerRegion[0]);
        final Arena arena = Arena.ofAuto();
        this.parts = new Part[partsUsed];
        int start = 0;
        for (int p = 0; p < partsUsed; p++)
        {
            this.parts[p] = new Part(this, backend, start, partEnds[p], arena);
            start = partEnds[p];
        }
    }
}
