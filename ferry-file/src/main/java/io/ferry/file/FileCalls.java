package io.ferry.file;

import io.ferry.internal.Posix;
import io.ferry.internal.SystemCallException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The file system calls of the FILE backend, through FFM: {@code open}, {@code pread}, {@code pwrite},
 * {@code fsync}/{@code fdatasync}, and the three io_uring system calls (raw, no liburing). Errors come back as
 * {@link SystemCallException} with the errno, or as a negative errno from the calls on the data path.
 */
@SuppressWarnings("restricted") // libc calls with fixed signatures
final class FileCalls
{
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0x40;
    static final int O_CLOEXEC = 0x80000;
    /** O_DIRECT differs between architectures. */
    static final int O_DIRECT = "aarch64".equals(System.getProperty("os.arch")) ? 0x10000 : 0x4000;
    static final int ENOENT = 2;
    static final int EACCES = 13;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int EROFS = 30;
    static final int EPERM = 1;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    private static final long SYS_IO_URING_SETUP = 425;
    private static final long SYS_IO_URING_ENTER = 426;

    private static final MethodHandle OPEN;
    private static final MethodHandle PREAD;
    private static final MethodHandle PWRITE;
    private static final MethodHandle FSYNC;
    private static final MethodHandle FDATASYNC;
    private static final MethodHandle SYSCALL_SETUP;
    private static final MethodHandle SYSCALL_ENTER;
    private static final MethodHandle MMAP;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle WRITE;
    private static final String UNAVAILABLE;

    static
    {
        final Linker linker = Linker.nativeLinker();
        final ValueLayout i = ValueLayout.JAVA_INT;
        final ValueLayout l = ValueLayout.JAVA_LONG;
        final ValueLayout a = ValueLayout.ADDRESS;
        MethodHandle[] h = new MethodHandle[10];
        String why = Posix.unavailableReason();
        try
        {
            final Linker.Option errno = Linker.Option.captureCallState("errno");
            h[0] = linker.downcallHandle(find(linker, "open"), FunctionDescriptor.of(i, a, i, i),
                Linker.Option.firstVariadicArg(2), errno);
            h[1] = linker.downcallHandle(find(linker, "pread"), FunctionDescriptor.of(l, i, l, l, l), errno);
            h[2] = linker.downcallHandle(find(linker, "pwrite"), FunctionDescriptor.of(l, i, l, l, l), errno);
            h[3] = linker.downcallHandle(find(linker, "fsync"), FunctionDescriptor.of(i, i), errno);
            h[4] = linker.downcallHandle(find(linker, "fdatasync"), FunctionDescriptor.of(i, i), errno);
            // long syscall(long number, ...): the arguments after the number are variadic
            h[5] = linker.downcallHandle(find(linker, "syscall"), FunctionDescriptor.of(l, l, l, l),
                Linker.Option.firstVariadicArg(1), errno);
            h[6] = linker.downcallHandle(find(linker, "syscall"), FunctionDescriptor.of(l, l, l, l, l, l, l, l),
                Linker.Option.firstVariadicArg(1), errno);
            h[7] = linker.downcallHandle(find(linker, "mmap"), FunctionDescriptor.of(l, l, l, i, i, i, l), errno);
            h[8] = linker.downcallHandle(find(linker, "eventfd"), FunctionDescriptor.of(i, i, i), errno);
            h[9] = linker.downcallHandle(find(linker, "write"), FunctionDescriptor.of(l, i, l, l), errno);
        }
        catch (final RuntimeException ex)
        {
            why = "libc lacks a call of the FILE backend: " + ex;
            h = new MethodHandle[10];
        }
        OPEN = h[0];
        PREAD = h[1];
        PWRITE = h[2];
        FSYNC = h[3];
        FDATASYNC = h[4];
        SYSCALL_SETUP = h[5];
        SYSCALL_ENTER = h[6];
        MMAP = h[7];
        EVENTFD = h[8];
        WRITE = h[9];
        UNAVAILABLE = why;
    }

    private FileCalls()
    {
    }

    private static MemorySegment find(final Linker linker, final String name)
    {
        return linker.defaultLookup().find(name).orElseThrow(() -> new IllegalStateException("no " + name));
    }

    static String unavailableReason()
    {
        return UNAVAILABLE;
    }

    /**
     * @return the descriptor.
     * @throws SystemCallException with the errno.
     */
    static int open(final String path, final int flags, final int mode)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = Posix.captureSegment(arena);
            final int fd = (int)OPEN.invokeExact(cap, arena.allocateFrom(path), flags | O_CLOEXEC, mode);
            if (fd < 0)
            {
                throw new SystemCallException("open", Posix.errno(cap));
            }
            return fd;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** @return bytes read (0 at end of file) or -errno. */
    static long pread(final int fd, final long address, final long length, final long offset,
        final MemorySegment capture)
    {
        try
        {
            final long rc = (long)PREAD.invokeExact(capture, fd, address, length, offset);
            return rc < 0 ? -Posix.errno(capture) : rc;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** @return bytes written or -errno. */
    static long pwrite(final int fd, final long address, final long length, final long offset,
        final MemorySegment capture)
    {
        try
        {
            final long rc = (long)PWRITE.invokeExact(capture, fd, address, length, offset);
            return rc < 0 ? -Posix.errno(capture) : rc;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** @return 0 or -errno. */
    static int sync(final int fd, final boolean dataOnly, final MemorySegment capture)
    {
        try
        {
            final int rc = dataOnly ? (int)FDATASYNC.invokeExact(capture, fd) : (int)FSYNC.invokeExact(capture, fd);
            return rc < 0 ? -Posix.errno(capture) : 0;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** @return the ring's descriptor. */
    static int ioUringSetup(final int entries, final MemorySegment params)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = Posix.captureSegment(arena);
            final long rc = (long)SYSCALL_SETUP.invokeExact(cap, SYS_IO_URING_SETUP, (long)entries,
                params.address());
            if (rc < 0)
            {
                throw new SystemCallException("io_uring_setup", Posix.errno(cap));
            }
            return (int)rc;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** @return the number of submissions consumed, or -errno. */
    static int ioUringEnter(final int ringFd, final int toSubmit, final int minComplete, final int flags,
        final MemorySegment capture)
    {
        try
        {
            final long rc = (long)SYSCALL_ENTER.invokeExact(capture, SYS_IO_URING_ENTER, (long)ringFd,
                (long)toSubmit, (long)minComplete, (long)flags, 0L, 0L);
            return rc < 0 ? -Posix.errno(capture) : (int)rc;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** @return a new eventfd (close on exec; blocking, so that an io_uring read of it waits for a signal). */
    static int eventfd()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = Posix.captureSegment(arena);
            final int fd = (int)EVENTFD.invokeExact(cap, 0, 0x80000);
            if (fd < 0)
            {
                throw new SystemCallException("eventfd", Posix.errno(cap));
            }
            return fd;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /**
     * Adds one to an eventfd (wakes a reader of it); errors are ignored (a full counter still wakes).
     *
     * @param fd      the eventfd.
     * @param one     8 native bytes holding the value 1.
     * @param capture a capture segment.
     */
    static void signal(final int fd, final MemorySegment one, final MemorySegment capture)
    {
        try
        {
            final long ignored = (long)WRITE.invokeExact(capture, fd, one.address(), 8L);
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }

    /** Maps part of an io_uring ring (shared, read-write, populated). */
    static long mapRing(final int ringFd, final long length, final long offset)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = Posix.captureSegment(arena);
            final long at = (long)MMAP.invokeExact(cap, 0L, length, Posix.PROT_READ | Posix.PROT_WRITE,
                Posix.MAP_SHARED | Posix.MAP_POPULATE, ringFd, offset);
            if (-1L == at)
            {
                throw new SystemCallException("mmap(io_uring)", Posix.errno(cap));
            }
            return at;
        }
        catch (final Throwable t)
        {
            throw Posix.rethrow(t);
        }
    }
}
