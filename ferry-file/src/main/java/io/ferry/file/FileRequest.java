package io.ferry.file;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.TransferOp;
import io.ferry.internal.Posix;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A prepared FILE request: its I/Os in parallel arrays (each span cut into I/Os of at most {@code max_io_bytes}),
 * each with the descriptor it goes to (O_DIRECT when memory, offset and length are aligned, buffered otherwise),
 * and the files a WRITE must sync before DONE. Built once; a post allocates nothing.
 */
final class FileRequest implements BackendRequest
{
    final TransferOp op;
    final TransferSink sink;
    /** The host memory of each I/O; null for VRAM, which goes through {@link #staging}. */
    final MemorySegment[] memory;
    final long[] memoryOffset;
    /** For a VRAM I/O: its device, device address and offset in the staging buffer. */
    final long[] device;
    final long[] deviceAddress;
    final long[] stagingOffset;
    /** Bytes of pinned staging a post needs (0: no VRAM). */
    final long stagingBytes;
    /** The staging buffer of the post in progress, or null. */
    io.ferry.spi.DeviceMemory.Staging staging;
    final FileHandle[] file;
    final int[] fd;
    final long[] fileOffset;
    final int[] length;
    final FileHandle[] distinctFiles;
    final FileHandle[] syncFiles;
    final int count;
    final String route;
    final AtomicInteger nextIo = new AtomicInteger();
    final AtomicInteger remaining = new AtomicInteger();
    final AtomicBoolean inProgress = new AtomicBoolean();
    volatile FerryException error;
    byte[] notification;
    /** The next file to sync (the io_uring engine's thread only). */
    int syncNext;

    FileRequest(final TransferOp op, final ResolvedDescs local, final ResolvedDescs remote, final TransferSink sink,
        final FileConfig config, final String engine)
    {
        this.op = op;
        this.sink = sink;
        int n = 0;
        for (int i = 0; i < local.count(); i++)
        {
            n += (int)((local.length(i) + config.maxIoBytes() - 1) / config.maxIoBytes());
        }
        memory = new MemorySegment[n];
        memoryOffset = new long[n];
        device = new long[n];
        deviceAddress = new long[n];
        stagingOffset = new long[n];
        long staged = 0;
        file = new FileHandle[n];
        fd = new int[n];
        fileOffset = new long[n];
        length = new int[n];
        final java.util.Set<FileHandle> distinct = java.util.Collections.newSetFromMap(
            new java.util.IdentityHashMap<>());
        int k = 0;
        int direct = 0;
        for (int i = 0; i < local.count(); i++)
        {
            final HostMemory m = local.handle(i) instanceof HostMemory h ? h : null;
            final DeviceRegion v = local.handle(i) instanceof DeviceRegion dr ? dr : null;
            final FileHandle f = (FileHandle)remote.handle(i);
            distinct.add(f);
            if (TransferOp.WRITE == op && !f.writable)
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, f + " was registered READ_ONLY: descriptor " + i +
                    " cannot be written");
            }
            for (long at = 0; at < local.length(i); at += config.maxIoBytes())
            {
                final long len = Math.min(config.maxIoBytes(), local.length(i) - at);
                memoryOffset[k] = local.offset(i) + at;
                final long address;
                if (null != m)
                {
                    memory[k] = m.segment();
                    address = m.segment().address() + memoryOffset[k];
                }
                else
                {
                    device[k] = v.device();
                    deviceAddress[k] = v.address() + memoryOffset[k];
                    stagingOffset[k] = staged;
                    address = staged; // the pinned buffer is page-aligned: its offsets decide the alignment
                    staged += (len + 4095) & -4096L;
                }
                file[k] = f;
                fileOffset[k] = f.start + remote.offset(i) + at;
                length[k] = (int)len;
                final boolean aligned = 0 == (address % config.directAlignment()) &&
                    0 == (fileOffset[k] % config.directAlignment()) && 0 == (len % config.directAlignment());
                if ("always".equals(config.direct()) && (!aligned || f.directFd < 0))
                {
                    throw FerryException.invalid("descriptor " + i + " (" + len + " B at offset " + fileOffset[k] +
                        " of " + f.name + ", memory 0x" + Long.toHexString(address) + ") cannot go O_DIRECT: " +
                        (f.directFd < 0 ? f.directRefusal : "not aligned to " + config.directAlignment() + " B") +
                        " (direct=always)");
                }
                final boolean useDirect = aligned && f.directFd >= 0 && !"never".equals(config.direct());
                fd[k] = useDirect ? f.directFd : f.fd;
                direct += useDirect ? 1 : 0;
                k++;
            }
        }
        count = k;
        stagingBytes = staged;
        distinctFiles = distinct.toArray(new FileHandle[0]);
        syncFiles = TransferOp.WRITE == op ? distinct.stream().filter(f -> FileRegions.FileSync.NONE != f.sync)
            .toArray(FileHandle[]::new) : new FileHandle[0];
        route = engine + ", " + (direct == count ? "O_DIRECT" : 0 == direct ? "buffered" : "O_DIRECT " + direct +
            " + buffered " + (count - direct) + " I/Os") + (0 == syncFiles.length ? "" : ", synced") + (0 == staged ? "" :
            ", VRAM staged through pinned memory");
    }

    @Override
    public String route()
    {
        return route;
    }

    private Runnable posixWorker;

    /** @return the task that runs this request's I/Os on a POSIX engine thread (made once). */
    Runnable posixWorker(final PosixEngine engine)
    {
        if (null == posixWorker)
        {
            posixWorker = () -> engine.work(this);
        }
        return posixWorker;
    }

    /** @return the next I/O not yet handed out, or -1. */
    int claim()
    {
        final int i = nextIo.getAndIncrement();
        return i < count ? i : -1;
    }

    /** @return the memory address of I/O {@code i} (its segment checked alive at post; VRAM: its staging). */
    long address(final int i)
    {
        return null == memory[i] ? staging.buffer().address() + stagingOffset[i] : memory[i].address() +
            memoryOffset[i];
    }

    /** Records the first failure of the request (the others add nothing). */
    void fail(final FerryException ex)
    {
        if (null == error)
        {
            error = ex;
        }
    }

    /** @return the error of an I/O that returned {@code result} (negative errno, or a short count). */
    FerryException ioError(final int i, final long result, final long done)
    {
        final String where = (TransferOp.READ == op ? "READ of " : "WRITE of ") + length[i] + " B at offset " +
            fileOffset[i] + " of " + file[i].name;
        if (result == 0 && TransferOp.READ == op)
        {
            return new FerryException(ErrorCode.BACKEND, where + ": past the end of the file after " + done +
                " B (the file is shorter than the span: truncated?)");
        }
        if (result == 0)
        {
            return new FerryException(ErrorCode.BACKEND, where + ": the device took nothing after " + done + " B");
        }
        final int errno = (int)-result;
        return switch (errno)
        {
            case FileCalls.ENOSPC -> new FerryException(ErrorCode.BACKEND, where + ": no space left on the device" +
                (done > 0 ? " after " + done + " B" : ""));
            case FileCalls.EINVAL -> new FerryException(ErrorCode.INVALID_PARAM, where + ": the kernel refused it (" +
                Posix.errnoName(errno) + "): an unaligned O_DIRECT span?");
            default -> new FerryException(ErrorCode.BACKEND, where + ": " + Posix.errnoName(errno));
        };
    }
}
