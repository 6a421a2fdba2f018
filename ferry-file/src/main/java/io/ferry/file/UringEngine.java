package io.ferry.file;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.TransferOp;
import io.ferry.internal.Posix;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The io_uring engine: {@code io_threads} threads, each owning a ring of {@code queue_depth} entries; a posted
 * request goes to one thread (in turn), which keeps its ring full with the I/Os of every request it holds, resubmits
 * the rest of a short I/O, and after a WRITE's last I/O queues the syncs its files ask for.
 */
final class UringEngine implements IoEngine
{
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final long IDLE_PARK_NS = TimeUnit.MILLISECONDS.toNanos(50);
    /** The user data of the read that waits on a worker's eventfd (I/O slots are 0 and up). */
    private static final long WAKE = -1L;
    private final ThreadLocal<MemorySegment[]> signalling = ThreadLocal.withInitial(() ->
    {
        final java.lang.foreign.Arena a = java.lang.foreign.Arena.ofAuto();
        final MemorySegment one = a.allocate(8, 8);
        one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1L);
        return new MemorySegment[]{one, Posix.captureSegment(a)};
    });

    private final Worker[] workers;
    private final Finisher finisher;
    private final AtomicInteger turn = new AtomicInteger();
    private volatile boolean closed;
    /** Why a worker thread stopped for good, or null. */
    private volatile String broken;

    /**
     * @throws io.ferry.internal.SystemCallException when the kernel refuses io_uring.
     */
    UringEngine(final FileConfig config, final String agentName, final Finisher finisher)
    {
        this.finisher = finisher;
        workers = new Worker[config.ioThreads()];
        try
        {
            for (int i = 0; i < workers.length; i++)
            {
                workers[i] = new Worker(new IoUring(config.queueDepth()), "ferry-file-uring-" + agentName + "-" + i);
            }
        }
        catch (final RuntimeException ex)
        {
            for (final Worker w : workers)
            {
                if (null != w)
                {
                    w.ring.close();
                }
            }
            throw ex;
        }
        for (final Worker w : workers)
        {
            w.thread.start();
        }
    }

    public String name()
    {
        return "io_uring";
    }

    public void submit(final FileRequest request)
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.CANCELED, "the FILE backend is closed");
        }
        if (null != broken)
        {
            throw new FerryException(ErrorCode.BACKEND, "FILE " + broken);
        }
        final Worker w = workers[Math.floorMod(turn.getAndIncrement(), workers.length)];
        w.incoming.add(request);
        if (w.blocking)
        {
            // waiting in io_uring_enter for completions: its eventfd read completes now, so the request is
            // submitted at once rather than after the next I/O completes
            final MemorySegment[] s = signalling.get();
            FileCalls.signal(w.wakeFd, s[0], s[1]);
        }
        else
        {
            LockSupport.unpark(w.thread);
        }
    }

    public void close()
    {
        closed = true;
        for (final Worker w : workers)
        {
            LockSupport.unpark(w.thread);
        }
        for (final Worker w : workers)
        {
            try
            {
                w.thread.join(30_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            if (!w.thread.isAlive())
            {
                w.ring.close();
                Posix.close(w.wakeFd);
                w.wakeArena.close();
            }
        }
    }

    /** One ring and the thread that drives it. */
    private final class Worker implements IoUring.Completion
    {
        final IoUring ring;
        final Thread thread;
        final ConcurrentLinkedQueue<FileRequest> incoming = new ConcurrentLinkedQueue<>();
        final ArrayDeque<FileRequest> active = new ArrayDeque<>();
        /** WRITEs whose I/Os ended and whose files still need a sync queued. */
        final ArrayDeque<FileRequest> syncing = new ArrayDeque<>();
        /** Per slot: the request, the I/O (or -1 - file index for a sync), and the bytes it moved so far. */
        final FileRequest[] slotRequest;
        final int[] slotIo;
        final long[] slotDone;
        final int[] freeSlots;
        final int wakeFd;
        final java.lang.foreign.Arena wakeArena = java.lang.foreign.Arena.ofShared();
        final MemorySegment wakeBuffer = wakeArena.allocate(8, 8);
        /** True while the thread may be inside io_uring_enter waiting for completions. */
        volatile boolean blocking;
        boolean wakeArmed;
        int freeCount;
        int inFlight;

        Worker(final IoUring ring, final String name)
        {
            this.ring = ring;
            final int n = ring.entries();
            slotRequest = new FileRequest[n];
            slotIo = new int[n];
            slotDone = new long[n];
            freeSlots = new int[n];
            for (int i = 0; i < n; i++)
            {
                freeSlots[i] = n - 1 - i;
            }
            freeCount = n;
            wakeFd = FileCalls.eventfd();
            thread = new Thread(this::run, name);
            thread.setDaemon(true);
        }

        private void run()
        {
            try
            {
                loop();
            }
            catch (final RuntimeException | Error ex)
            {
                broken = "its io_uring thread failed: " + ex;
                abandonEverything(new FerryException(ErrorCode.BACKEND, "FILE " + broken, ex));
            }
        }

        private void loop()
        {
            while (true)
            {
                FileRequest r;
                while (null != (r = incoming.poll()))
                {
                    active.add(r);
                }
                fill();
                if (0 == inFlight)
                {
                    if (closed && incoming.isEmpty() && active.isEmpty() && syncing.isEmpty())
                    {
                        return;
                    }
                    if (incoming.isEmpty() && active.isEmpty() && syncing.isEmpty())
                    {
                        LockSupport.parkNanos(this, IDLE_PARK_NS);
                    }
                    continue;
                }
                if (!wakeArmed && ring.free() > 0)
                {
                    ring.queue(IoUring.OP_READ, wakeFd, 0, wakeBuffer.address(), 8, 0, WAKE);
                    wakeArmed = true;
                }
                blocking = true;
                if (!incoming.isEmpty())
                {
                    blocking = false; // work came in: submit it first, wait afterwards
                    continue;
                }
                final int rc = ring.enter(true);
                blocking = false;
                if (rc < 0 && -rc != EINTR && -rc != EAGAIN)
                {
                    failEverything(new FerryException(ErrorCode.BACKEND, "io_uring_enter failed: " +
                        Posix.errnoName(-rc)));
                    continue;
                }
                ring.reap(this);
            }
        }

        /** Queues I/Os while the ring has room. */
        private void fill()
        {
            while (freeCount > 0 && ring.free() > 0 && !syncing.isEmpty())
            {
                final FileRequest r = syncing.peek();
                final int k = r.syncNext++;
                if (r.syncNext == r.syncFiles.length)
                {
                    syncing.poll();
                }
                final int slot = freeSlots[--freeCount];
                slotRequest[slot] = r;
                slotIo[slot] = -1 - k;
                final FileHandle f = r.syncFiles[k];
                ring.queue(IoUring.OP_FSYNC, f.fd, 0, 0, 0, FileRegions.FileSync.FDATASYNC == f.sync ?
                    IoUring.FSYNC_DATASYNC : 0, slot);
                inFlight++;
            }
            while (freeCount > 0 && ring.free() > 0 && !active.isEmpty())
            {
                final FileRequest r = active.peek();
                final int i = r.claim();
                if (i < 0)
                {
                    active.poll(); // every I/O handed out: the request ends through its completions
                    continue;
                }
                if (null != r.error)
                {
                    ioEnded(r); // failed already: the rest is not started
                    continue;
                }
                final int slot = freeSlots[--freeCount];
                slotRequest[slot] = r;
                slotIo[slot] = i;
                slotDone[slot] = 0;
                queueIo(slot);
            }
        }

        private void queueIo(final int slot)
        {
            final FileRequest r = slotRequest[slot];
            final int i = slotIo[slot];
            final long done = slotDone[slot];
            ring.queue(TransferOp.READ == r.op ? IoUring.OP_READ : IoUring.OP_WRITE, r.fd[i], r.fileOffset[i] + done,
                r.address(i) + done, (int)(r.length[i] - done), 0, slot);
            inFlight++;
        }

        public void complete(final long userData, final int result)
        {
            if (WAKE == userData)
            {
                wakeArmed = false; // a submitter signalled (or the read failed): armed again before the next wait
                return;
            }
            final int slot = (int)userData;
            inFlight--;
            final FileRequest r = slotRequest[slot];
            final int i = slotIo[slot];
            if (i < 0)
            {
                if (result < 0)
                {
                    final FileHandle f = r.syncFiles[-1 - i];
                    r.fail(new FerryException(ErrorCode.BACKEND, (FileRegions.FileSync.FSYNC == f.sync ? "fsync" :
                        "fdatasync") + " of " + f.name + " failed: " + Posix.errnoName(-result)));
                }
                release(slot);
                if (0 == r.remaining.decrementAndGet())
                {
                    finisher.finished(r);
                }
                return;
            }
            if (result > 0 && slotDone[slot] + result < r.length[i])
            {
                slotDone[slot] += result; // short: the rest goes again from where it stopped
                queueIo(slot);
                return;
            }
            if (result <= 0)
            {
                r.fail(r.ioError(i, result, slotDone[slot]));
            }
            release(slot);
            ioEnded(r);
        }

        private void release(final int slot)
        {
            slotRequest[slot] = null;
            freeSlots[freeCount++] = slot;
        }

        /** One I/O of {@code r} ended (or was skipped); after the last, the syncs, then the end. */
        private void ioEnded(final FileRequest r)
        {
            if (0 != r.remaining.decrementAndGet())
            {
                return;
            }
            if (null != r.error || 0 == r.syncFiles.length)
            {
                finisher.finished(r);
                return;
            }
            r.remaining.set(r.syncFiles.length);
            r.syncNext = 0;
            syncing.add(r); // queued by the next fill
        }

        private void failEverything(final FerryException ex)
        {
            for (final FileRequest r : active)
            {
                r.fail(ex);
            }
        }

        /** Ends every request this thread holds, failed: nothing waits forever on a thread that stopped. */
        private void abandonEverything(final FerryException ex)
        {
            final java.util.Set<FileRequest> all = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            all.addAll(active);
            all.addAll(syncing);
            FileRequest r;
            while (null != (r = incoming.poll()))
            {
                all.add(r);
            }
            for (final FileRequest held : slotRequest)
            {
                if (null != held)
                {
                    all.add(held);
                }
            }
            for (final FileRequest each : all)
            {
                each.fail(ex);
                finisher.finished(each);
            }
        }
    }
}
