package io.ferry.file;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.internal.Posix;
import io.ferry.internal.SystemCallException;
import io.ferry.spi.MemoryHandle;

/**
 * A FILE registration: its descriptors (buffered, and O_DIRECT where the file system allows it), where the region
 * starts in the file, and what WRITEs wait for. Transfers hold it from post to end; deregistration closes the
 * descriptors only when the last of them let go, so no I/O ever lands on a descriptor number reused by something
 * else.
 */
final class FileHandle implements MemoryHandle
{
    final String name;
    final long fileId;
    final long start;
    final long length;
    final boolean writable;
    final FileRegions.FileSync sync;
    final int fd;
    /** -1 when O_DIRECT is not available for this file. */
    final int directFd;
    final String directRefusal;
    private final boolean owned;
    private int users;
    private boolean deregistered;

    private FileHandle(final String name, final long fileId, final long start, final long length,
        final boolean writable, final FileRegions.FileSync sync, final int fd, final int directFd,
        final String directRefusal, final boolean owned)
    {
        this.name = name;
        this.fileId = fileId;
        this.start = start;
        this.length = length;
        this.writable = writable;
        this.sync = sync;
        this.fd = fd;
        this.directFd = directFd;
        this.directRefusal = directRefusal;
        this.owned = owned;
    }

    /**
     * Opens what a registration names.
     *
     * @throws FerryException NOT_FOUND for a missing file, NOT_ALLOWED without permission, BACKEND otherwise,
     *                        each naming the file.
     */
    static FileHandle open(final FileRegions.Spec spec, final long fileId, final long start, final long length,
        final boolean wantDirect)
    {
        final boolean writable = FileRegions.FileAccess.READ_ONLY != spec.access();
        final int flags = (writable ? FileCalls.O_RDWR : FileCalls.O_RDONLY) |
            (FileRegions.FileAccess.CREATE == spec.access() ? FileCalls.O_CREAT : 0);
        final String path = null == spec.path() ? "/proc/self/fd/" + fileId : spec.path();
        final String name = null == spec.path() ? "descriptor " + fileId : spec.path();
        int fd = (int)fileId;
        if (null != spec.path())
        {
            fd = openOrExplain(path, flags, name);
        }
        int direct = -1;
        String refusal = null;
        if (wantDirect)
        {
            try
            {
                direct = FileCalls.open(path, (flags & ~FileCalls.O_CREAT) | FileCalls.O_DIRECT, 0);
            }
            catch (final SystemCallException ex)
            {
                refusal = "O_DIRECT refused on " + name + ": " + Posix.errnoName(ex.errno()) +
                    (FileCalls.EINVAL == ex.errno() ? " (the file system does not support it, tmpfs say)" : "");
            }
        }
        return new FileHandle(name, fileId, start, length, writable, spec.sync(), fd, direct, refusal,
            null != spec.path());
    }

    private static int openOrExplain(final String path, final int flags, final String name)
    {
        try
        {
            return FileCalls.open(path, flags, 0600);
        }
        catch (final SystemCallException ex)
        {
            final ErrorCode code = switch (ex.errno())
            {
                case FileCalls.ENOENT -> ErrorCode.NOT_FOUND;
                case FileCalls.EACCES, FileCalls.EPERM, FileCalls.EROFS -> ErrorCode.NOT_ALLOWED;
                default -> ErrorCode.BACKEND;
            };
            throw new FerryException(code, "FILE cannot open " + name + ": " + Posix.errnoName(ex.errno()));
        }
    }

    /** @return false when deregistered (the caller must not use it). */
    synchronized boolean acquire()
    {
        if (deregistered)
        {
            return false;
        }
        users++;
        return true;
    }

    synchronized void release()
    {
        users--;
        closeIfIdle();
    }

    synchronized void deregister()
    {
        deregistered = true;
        closeIfIdle();
    }

    private void closeIfIdle()
    {
        if (deregistered && 0 == users)
        {
            if (owned)
            {
                Posix.close(fd);
            }
            Posix.close(directFd);
            users = -1;
        }
    }

    @Override
    public String toString()
    {
        return "FILE region " + fileId + " (" + name + " from offset " + start + ")";
    }
}
