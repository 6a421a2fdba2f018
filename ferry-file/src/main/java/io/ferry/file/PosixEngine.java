package io.ferry.file;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.TransferOp;
import io.ferry.internal.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The POSIX engine, where io_uring is refused: a pool of threads, each running one {@code pread}/{@code pwrite} at a
 * time (as many I/Os in flight as threads), a short I/O continued from where it stopped, and the syncs of a WRITE run
 * by the thread that ended its last I/O.
 */
final class PosixEngine implements IoEngine
{
    private final ExecutorService pool;
    private final int threads;
    private final Finisher finisher;
    private final ThreadLocal<MemorySegment> capture = ThreadLocal.withInitial(() ->
        Posix.captureSegment(Arena.ofAuto()));

    PosixEngine(final FileConfig config, final String agentName, final Finisher finisher)
    {
        this.finisher = finisher;
        this.threads = Math.max(config.ioThreads(), Math.min(config.queueDepth(), 32));
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r ->
        {
            final Thread t = new Thread(r, "ferry-file-posix-" + agentName);
            t.setDaemon(true);
            return t;
        });
    }

    public String name()
    {
        return "POSIX";
    }

    public void submit(final FileRequest request)
    {
        final int n = Math.min(threads, request.count);
        try
        {
            for (int k = 0; k < n; k++)
            {
                pool.execute(request.posixWorker(this));
            }
        }
        catch (final RejectedExecutionException ex)
        {
            throw new FerryException(ErrorCode.CANCELED, "the FILE backend is closed");
        }
    }

    /** Runs I/Os of {@code r} until none is left to claim. */
    void work(final FileRequest r)
    {
        final MemorySegment cap = capture.get();
        int i;
        while ((i = r.claim()) >= 0)
        {
            if (null == r.error)
            {
                long done = 0;
                while (done < r.length[i])
                {
                    final long rc = TransferOp.READ == r.op ?
                        FileCalls.pread(r.fd[i], r.address(i) + done, r.length[i] - done, r.fileOffset[i] + done, cap) :
                        FileCalls.pwrite(r.fd[i], r.address(i) + done, r.length[i] - done, r.fileOffset[i] + done,
                            cap);
                    if (-FileCalls.EINTR == rc)
                    {
                        continue;
                    }
                    if (rc <= 0)
                    {
                        r.fail(r.ioError(i, rc, done));
                        break;
                    }
                    done += rc;
                }
            }
            if (0 == r.remaining.decrementAndGet())
            {
                if (null == r.error)
                {
                    for (final FileHandle f : r.syncFiles)
                    {
                        final int rc = FileCalls.sync(f.fd, FileRegions.FileSync.FDATASYNC == f.sync, cap);
                        if (rc < 0)
                        {
                            r.fail(new FerryException(ErrorCode.BACKEND, (FileRegions.FileSync.FSYNC == f.sync ?
                                "fsync" : "fdatasync") + " of " + f.name + " failed: " + Posix.errnoName(-rc)));
                        }
                    }
                }
                finisher.finished(r);
            }
        }
    }

    public void close()
    {
        pool.shutdown();
        try
        {
            pool.awaitTermination(30, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
