package io.ferry.shm;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.internal.Posix;
import io.ferry.internal.SystemCallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * An arena of shared memory: each allocation is an anonymous memory file ({@code memfd_create}, nothing named in
 * {@code /dev/shm}), sealed against resizing and mapped once here. Register its segments with an agent: same-host
 * peers then map them once (the file travels over the agent's Unix socket) and move bytes with plain memory copies,
 * no system call per transfer. Memory of any other arena is still served, through cross-memory attach.
 * <pre>{@code
 * try (ShmArena shm = ShmArena.open()) {
 *     MemorySegment kv = shm.allocate(1L << 30);
 *     agent.register(MemoryKind.DRAM, List.of(MemoryDesc.of(kv)));
 * }
 * }</pre>
 * A peer's mapping covers the whole allocation a region lies in and lasts until the peer disconnects; closing the
 * arena frees the memory here (its segments become unusable) while peers that mapped it keep their copy of the
 * pages until they let go. Thread-safe.
 */
public final class ShmArena implements Arena
{
    private static final long PAGE = 4096;

    private final Arena scope = Arena.ofShared();
    private final List<ShmFile> files = new ArrayList<>();
    private boolean closed;

    private ShmArena()
    {
    }

    /**
     * @return a new arena.
     * @throws FerryException NOT_SUPPORTED off 64-bit Linux.
     */
    public static ShmArena open()
    {
        if (null != Posix.unavailableReason())
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, Posix.unavailableReason());
        }
        return new ShmArena();
    }

    /**
     * Allocates shared memory, zeroed, page-aligned, its size rounded up to whole pages.
     *
     * @throws FerryException BACKEND when the kernel refuses (out of memory, descriptors or locked memory).
     */
    @Override
    @SuppressWarnings("restricted")
    public MemorySegment allocate(final long byteSize, final long byteAlignment)
    {
        if (byteSize < 0 || byteAlignment <= 0 || 0 != (byteAlignment & (byteAlignment - 1)) || byteAlignment > PAGE)
        {
            throw new IllegalArgumentException("size " + byteSize + " and alignment " + byteAlignment + ": sizes are " +
                "non-negative, alignments powers of two up to " + PAGE);
        }
        final long size = Math.max(PAGE, (byteSize + PAGE - 1) & -PAGE);
        synchronized (this)
        {
            if (closed)
            {
                throw new IllegalStateException("ShmArena is closed");
            }
            int fd = -1;
            try
            {
                fd = Posix.sealedMemfd("ferry-shm", size);
                final long at = Posix.mapShared(fd, 0, size);
                final ShmFile f = new ShmFile(fd, at, size);
                files.add(f);
                f.publish();
                return MemorySegment.ofAddress(at).reinterpret(byteSize, scope, null);
            }
            catch (final SystemCallException ex)
            {
                Posix.close(fd);
                throw new FerryException(ErrorCode.BACKEND, "cannot allocate " + byteSize + " B of shared memory: " +
                    ex.getMessage(), ex);
            }
        }
    }

    @Override
    public MemorySegment.Scope scope()
    {
        return scope.scope();
    }

    /**
     * Frees every allocation: its segments become unusable here (access fails with IllegalStateException).
     */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        scope.close(); // first: no segment of this arena can touch the memory once it is unmapped
        for (final ShmFile f : files)
        {
            f.free();
        }
        files.clear();
    }
}
