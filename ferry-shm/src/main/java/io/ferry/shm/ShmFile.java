package io.ferry.shm;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.internal.Posix;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * One allocation of a {@link ShmArena}: a sealed memory file mapped once in this process. The process-wide index of
 * them lets the SHM backend see, at registration, that a region lies in shared memory and can be mapped by peers.
 */
final class ShmFile
{
    private static final ConcurrentSkipListMap<Long, ShmFile> BY_ADDRESS = new ConcurrentSkipListMap<>();

    final long address;
    final long size;
    private int fd;

    ShmFile(final int fd, final long address, final long size)
    {
        this.fd = fd;
        this.address = address;
        this.size = size;
    }

    void publish()
    {
        BY_ADDRESS.put(address, this);
    }

    /**
     * @return the live allocation holding all of [address, address + length), or null.
     */
    static ShmFile find(final long address, final long length)
    {
        final Map.Entry<Long, ShmFile> e = BY_ADDRESS.floorEntry(address);
        if (null == e)
        {
            return null;
        }
        final ShmFile f = e.getValue();
        return address + length <= f.address + f.size ? f : null;
    }

    /**
     * @return a new descriptor of the file, for passing to a peer (the caller closes it).
     * @throws FerryException NOT_FOUND when the arena was closed.
     */
    synchronized int duplicate()
    {
        if (fd < 0)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "the shared memory at 0x" + Long.toHexString(address) +
                " was freed (its ShmArena is closed)");
        }
        return Posix.duplicate(fd);
    }

    synchronized boolean live()
    {
        return fd >= 0;
    }

    /** Unmaps and closes; peers that mapped the file keep their mappings until they let go. */
    synchronized void free()
    {
        if (fd < 0)
        {
            return;
        }
        BY_ADDRESS.remove(address, this);
        Posix.unmap(address, size);
        Posix.close(fd);
        fd = -1;
    }
}
