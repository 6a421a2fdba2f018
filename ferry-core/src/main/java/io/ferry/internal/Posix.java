package io.ferry.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The Linux system calls of the same-host road and the FILE backend, through FFM: Unix domain sockets with {@code SCM_RIGHTS} and
 * {@code SO_PEERCRED}, {@code memfd_create} with seals, {@code mmap}, and cross-memory attach
 * ({@code process_vm_readv} / {@code process_vm_writev}). Each call returns its result or throws
 * {@link SystemCallException} with the errno; none retries by itself except on EINTR. Layouts are Linux x86-64 and
 * AArch64 (LP64).
 */
@SuppressWarnings("restricted") // libc calls with fixed signatures
public final class Posix
{
    /** Unix domain sockets. */
    public static final int AF_UNIX = 1;
    /** Stream socket. */
    public static final int SOCK_STREAM = 1;
    /** Close on exec. */
    public static final int SOCK_CLOEXEC = 0x80000;
    /** Socket level options. */
    public static final int SOL_SOCKET = 1;
    /** The peer's credentials. */
    public static final int SO_PEERCRED = 17;
    /** Receive timeout. */
    public static final int SO_RCVTIMEO = 20;
    /** Send timeout. */
    public static final int SO_SNDTIMEO = 21;
    /** File descriptors in ancillary data. */
    public static final int SCM_RIGHTS = 1;
    /** No SIGPIPE on a closed peer. */
    public static final int MSG_NOSIGNAL = 0x4000;
    /** Received descriptors close on exec. */
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** Ancillary data was cut. */
    public static final int MSG_CTRUNC = 0x8;
    /** Both directions. */
    public static final int SHUT_RDWR = 2;
    /** Operation not permitted. */
    public static final int EPERM = 1;
    /** No such process. */
    public static final int ESRCH = 3;
    /** Interrupted. */
    public static final int EINTR = 4;
    /** Try again (a socket timeout). */
    public static final int EAGAIN = 11;
    /** Bad address. */
    public static final int EFAULT = 14;
    /** Not implemented. */
    public static final int ENOSYS = 38;
    /** Readable mapping. */
    public static final int PROT_READ = 1;
    /** Writable mapping. */
    public static final int PROT_WRITE = 2;
    /** Shared mapping. */
    public static final int MAP_SHARED = 1;
    /** Fault every page in at map time: a one-time cost instead of a page fault per page on first touch. */
    public static final int MAP_POPULATE = 0x8000;
    /** memfd closes on exec. */
    public static final int MFD_CLOEXEC = 1;
    /** memfd accepts seals. */
    public static final int MFD_ALLOW_SEALING = 2;
    /** fcntl: add seals. */
    public static final int F_ADD_SEALS = 1033;
    /** fcntl: read seals. */
    public static final int F_GET_SEALS = 1034;
    /** No further seals. */
    public static final int F_SEAL_SEAL = 1;
    /** The file cannot shrink. */
    public static final int F_SEAL_SHRINK = 2;
    /** The file cannot grow. */
    public static final int F_SEAL_GROW = 4;
    /** Bytes of a {@code struct iovec}. */
    public static final int IOVEC_BYTES = 16;
    /** The most iovecs one call takes ({@code IOV_MAX}). */
    public static final int IOV_MAX = 1024;
    /** Bytes of a capture-state segment (errno). */
    public static final long CAPTURE_BYTES;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final int SOCKADDR_UN_BYTES = 110;
    private static final int MSGHDR_BYTES = 56;
    private static final int CMSG_SPACE_ONE_FD = 24;
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle SOCKET;
    private static final MethodHandle BIND;
    private static final MethodHandle LISTEN;
    private static final MethodHandle ACCEPT4;
    private static final MethodHandle CONNECT;
    private static final MethodHandle SENDMSG;
    private static final MethodHandle RECVMSG;
    private static final MethodHandle SHUTDOWN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle GETSOCKOPT;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle MEMFD_CREATE;
    private static final MethodHandle FTRUNCATE;
    private static final MethodHandle FCNTL_INT;
    private static final MethodHandle LSEEK;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle PROCESS_VM_READV;
    private static final MethodHandle PROCESS_VM_WRITEV;
    private static final MethodHandle GETUID;
    private static final String UNAVAILABLE;

    static
    {
        CAPTURE_BYTES = CAPTURE.byteSize();
        final Linker linker = Linker.nativeLinker();
        final ValueLayout i = ValueLayout.JAVA_INT;
        final ValueLayout l = ValueLayout.JAVA_LONG;
        final ValueLayout a = ValueLayout.ADDRESS;
        MethodHandle[] h = new MethodHandle[20];
        String why = null;
        try
        {
            h[0] = bind(linker, "socket", FunctionDescriptor.of(i, i, i, i));
            h[1] = bind(linker, "bind", FunctionDescriptor.of(i, i, a, i));
            h[2] = bind(linker, "listen", FunctionDescriptor.of(i, i, i));
            h[3] = bind(linker, "accept4", FunctionDescriptor.of(i, i, a, a, i));
            h[4] = bind(linker, "connect", FunctionDescriptor.of(i, i, a, i));
            h[5] = bind(linker, "sendmsg", FunctionDescriptor.of(l, i, a, i));
            h[6] = bind(linker, "recvmsg", FunctionDescriptor.of(l, i, a, i));
            h[7] = bind(linker, "shutdown", FunctionDescriptor.of(i, i, i));
            h[8] = bind(linker, "close", FunctionDescriptor.of(i, i));
            h[9] = bind(linker, "getsockopt", FunctionDescriptor.of(i, i, i, i, a, a));
            h[10] = bind(linker, "setsockopt", FunctionDescriptor.of(i, i, i, i, a, i));
            h[11] = bind(linker, "memfd_create", FunctionDescriptor.of(i, a, i));
            h[12] = bind(linker, "ftruncate", FunctionDescriptor.of(i, i, l));
            h[13] = linker.downcallHandle(linker.defaultLookup().find("fcntl").orElseThrow(),
                FunctionDescriptor.of(i, i, i, i), Linker.Option.firstVariadicArg(2),
                Linker.Option.captureCallState("errno"));
            h[14] = bind(linker, "lseek", FunctionDescriptor.of(l, i, l, i));
            h[15] = bind(linker, "mmap", FunctionDescriptor.of(l, l, l, i, i, i, l));
            h[16] = bind(linker, "munmap", FunctionDescriptor.of(i, l, l));
            h[17] = bind(linker, "process_vm_readv", FunctionDescriptor.of(l, i, a, l, a, l, l));
            h[18] = bind(linker, "process_vm_writev", FunctionDescriptor.of(l, i, a, l, a, l, l));
            h[19] = linker.downcallHandle(linker.defaultLookup().find("getuid").orElseThrow(),
                FunctionDescriptor.of(i));
            if (!"Linux".equals(System.getProperty("os.name")) || 8 != ValueLayout.ADDRESS.byteSize())
            {
                why = "the same-host road needs 64-bit Linux, this is " + System.getProperty("os.name") + " " +
                    System.getProperty("os.arch");
            }
        }
        catch (final RuntimeException ex)
        {
            why = "libc lacks a call of the same-host road: " + ex;
            h = new MethodHandle[20];
        }
        SOCKET = h[0];
        BIND = h[1];
        LISTEN = h[2];
        ACCEPT4 = h[3];
        CONNECT = h[4];
        SENDMSG = h[5];
        RECVMSG = h[6];
        SHUTDOWN = h[7];
        CLOSE = h[8];
        GETSOCKOPT = h[9];
        SETSOCKOPT = h[10];
        MEMFD_CREATE = h[11];
        FTRUNCATE = h[12];
        FCNTL_INT = h[13];
        LSEEK = h[14];
        MMAP = h[15];
        MUNMAP = h[16];
        PROCESS_VM_READV = h[17];
        PROCESS_VM_WRITEV = h[18];
        GETUID = h[19];
        UNAVAILABLE = why;
    }

    private Posix()
    {
    }

    private static MethodHandle bind(final Linker linker, final String name, final FunctionDescriptor desc)
    {
        return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(() ->
            new IllegalStateException("no " + name)), desc, Linker.Option.captureCallState("errno"));
    }

    /** @return why these calls cannot run here, or null when they can. */
    public static String unavailableReason()
    {
        return UNAVAILABLE;
    }

    /**
     * @param arena where to allocate it.
     * @return a segment for the errno of one call at a time.
     */
    public static MemorySegment captureSegment(final Arena arena)
    {
        return arena.allocate(CAPTURE);
    }

    /**
     * @param capture a capture segment after a call.
     * @return the errno it recorded.
     */
    public static int errno(final MemorySegment capture)
    {
        return (int)ERRNO.get(capture, 0L);
    }

    /**
     * @param t what a downcall threw.
     * @return it as an unchecked exception to throw (an Error is thrown as it is).
     */
    public static RuntimeException rethrow(final Throwable t)
    {
        if (t instanceof RuntimeException r)
        {
            return r;
        }
        if (t instanceof Error e)
        {
            throw e;
        }
        return new IllegalStateException(t);
    }

    private static int check(final String call, final int rc, final MemorySegment capture)
    {
        if (rc < 0)
        {
            throw new SystemCallException(call, errno(capture));
        }
        return rc;
    }

    // ------------------------------------------------------------------------------------------ sockets

    /** @return a new blocking Unix stream socket. */
    public static int unixSocket()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            return check("socket", (int)SOCKET.invokeExact(cap, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    private static MemorySegment abstractAddress(final Arena arena, final String name)
    {
        final byte[] n = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (n.length > SOCKADDR_UN_BYTES - 3)
        {
            throw new IllegalArgumentException("socket name too long: " + name);
        }
        final MemorySegment sa = arena.allocate(SOCKADDR_UN_BYTES);
        sa.set(ValueLayout.JAVA_SHORT, 0, (short)AF_UNIX);
        // sun_path[0] stays 0: the abstract namespace, nothing in the file system
        MemorySegment.copy(n, 0, sa, ValueLayout.JAVA_BYTE, 3, n.length);
        return sa;
    }

    private static int abstractAddressLength(final String name)
    {
        return 3 + name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    /**
     * Binds a socket to a name in the abstract namespace (gone when the socket closes, even after a crash) and
     * listens.
     *
     * @param fd      the socket.
     * @param name    the name, without the leading NUL.
     * @param backlog the listen backlog.
     */
    public static void bindAndListen(final int fd, final String name, final int backlog)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            check("bind", (int)BIND.invokeExact(cap, fd, abstractAddress(arena, name), abstractAddressLength(name)),
                cap);
            check("listen", (int)LISTEN.invokeExact(cap, fd, backlog), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param fd a listening socket.
     * @return the accepted connection.
     */
    public static int accept(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            while (true)
            {
                final int rc = (int)ACCEPT4.invokeExact(cap, fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
                if (rc >= 0 || errno(cap) != EINTR)
                {
                    return check("accept4", rc, cap);
                }
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param fd   a new socket.
     * @param name the abstract name to connect to.
     */
    public static void connect(final int fd, final String name)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            check("connect", (int)CONNECT.invokeExact(cap, fd, abstractAddress(arena, name),
                abstractAddressLength(name)), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Sets the receive and send timeouts of a socket: a blocked read or write then fails with EAGAIN.
     *
     * @param fd     the socket.
     * @param millis the timeout, 0 for none.
     */
    public static void setTimeouts(final int fd, final long millis)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            final MemorySegment tv = arena.allocate(16);
            tv.set(ValueLayout.JAVA_LONG, 0, millis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (millis % 1000) * 1000);
            check("setsockopt", (int)SETSOCKOPT.invokeExact(cap, fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), cap);
            check("setsockopt", (int)SETSOCKOPT.invokeExact(cap, fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param fd a connected Unix socket.
     * @return the peer's {pid, uid, gid} as the kernel saw them when it connected (pid in this PID namespace).
     */
    public static int[] peerCredentials(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            final MemorySegment cred = arena.allocate(12);
            final MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 12);
            check("getsockopt", (int)GETSOCKOPT.invokeExact(cap, fd, SOL_SOCKET, SO_PEERCRED, cred, len), cap);
            return new int[]{cred.get(ValueLayout.JAVA_INT, 0), cred.get(ValueLayout.JAVA_INT, 4),
                cred.get(ValueLayout.JAVA_INT, 8)};
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Sends all of {@code data}, with one file descriptor attached to its first byte when {@code passFd ≥ 0}.
     *
     * @param fd     the socket.
     * @param data   the bytes.
     * @param passFd a descriptor to pass, or -1.
     */
    public static void sendAll(final int fd, final byte[] data, final int passFd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            final MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            final MemorySegment msg = arena.allocate(MSGHDR_BYTES);
            final MemorySegment iov = arena.allocate(IOVEC_BYTES);
            final MemorySegment control = arena.allocate(CMSG_SPACE_ONE_FD);
            long sent = 0;
            boolean fdPending = passFd >= 0;
            while (sent < data.length)
            {
                msg.fill((byte)0);
                iov.set(ValueLayout.JAVA_LONG, 0, buf.address() + sent);
                iov.set(ValueLayout.JAVA_LONG, 8, data.length - sent);
                msg.set(ValueLayout.ADDRESS, 16, iov);
                msg.set(ValueLayout.JAVA_LONG, 24, 1);
                if (fdPending)
                {
                    control.fill((byte)0);
                    control.set(ValueLayout.JAVA_LONG, 0, 20); // CMSG_LEN(sizeof(int))
                    control.set(ValueLayout.JAVA_INT, 8, SOL_SOCKET);
                    control.set(ValueLayout.JAVA_INT, 12, SCM_RIGHTS);
                    control.set(ValueLayout.JAVA_INT, 16, passFd);
                    msg.set(ValueLayout.ADDRESS, 32, control);
                    msg.set(ValueLayout.JAVA_LONG, 40, CMSG_SPACE_ONE_FD);
                }
                final long rc = (long)SENDMSG.invokeExact(cap, fd, msg, MSG_NOSIGNAL);
                if (rc < 0)
                {
                    if (errno(cap) == EINTR)
                    {
                        continue;
                    }
                    throw new SystemCallException("sendmsg", errno(cap));
                }
                fdPending = false;
                sent += rc;
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Receives up to {@code buf.byteSize()} bytes; a descriptor that came with them is stored in
     * {@code receivedFd[0]} (any further one is closed).
     *
     * @param fd         the socket.
     * @param buf        where the bytes go.
     * @param scratch    at least {@link #RECV_SCRATCH_BYTES} bytes of native scratch (msghdr, iovec, control).
     * @param capture    a capture segment.
     * @param receivedFd one slot, set to a received descriptor or left alone.
     * @return the bytes received, 0 at end of stream.
     */
    public static int receive(final int fd, final MemorySegment buf, final MemorySegment scratch,
        final MemorySegment capture, final int[] receivedFd)
    {
        try
        {
            while (true)
            {
                scratch.fill((byte)0);
                final MemorySegment msg = scratch.asSlice(0, MSGHDR_BYTES);
                final MemorySegment iov = scratch.asSlice(MSGHDR_BYTES, IOVEC_BYTES);
                final MemorySegment control = scratch.asSlice(MSGHDR_BYTES + IOVEC_BYTES, CMSG_SPACE_ONE_FD * 2);
                iov.set(ValueLayout.JAVA_LONG, 0, buf.address());
                iov.set(ValueLayout.JAVA_LONG, 8, buf.byteSize());
                msg.set(ValueLayout.ADDRESS, 16, iov);
                msg.set(ValueLayout.JAVA_LONG, 24, 1);
                msg.set(ValueLayout.ADDRESS, 32, control);
                msg.set(ValueLayout.JAVA_LONG, 40, control.byteSize());
                final long rc = (long)RECVMSG.invokeExact(capture, fd, msg, MSG_CMSG_CLOEXEC);
                if (rc < 0)
                {
                    if (errno(capture) == EINTR)
                    {
                        continue;
                    }
                    throw new SystemCallException("recvmsg", errno(capture));
                }
                collectDescriptors(msg, control, receivedFd);
                return (int)rc;
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** Bytes of scratch {@link #receive} needs. */
    public static final int RECV_SCRATCH_BYTES = MSGHDR_BYTES + IOVEC_BYTES + CMSG_SPACE_ONE_FD * 2;

    private static void collectDescriptors(final MemorySegment msg, final MemorySegment control, final int[] out)
    {
        final long controlLength = msg.get(ValueLayout.JAVA_LONG, 40);
        long at = 0;
        while (at + 16 <= controlLength)
        {
            final long len = control.get(ValueLayout.JAVA_LONG, at);
            final int level = control.get(ValueLayout.JAVA_INT, at + 8);
            final int type = control.get(ValueLayout.JAVA_INT, at + 12);
            if (len < 16 || at + len > controlLength)
            {
                return;
            }
            if (SOL_SOCKET == level && SCM_RIGHTS == type)
            {
                for (long p = at + 16; p + 4 <= at + len; p += 4)
                {
                    final int received = control.get(ValueLayout.JAVA_INT, p);
                    if (out[0] < 0)
                    {
                        out[0] = received;
                    }
                    else
                    {
                        close(received); // one descriptor per frame: more is a peer's mistake, not ours to keep
                    }
                }
            }
            at += (len + 7) & ~7L;
        }
    }

    /**
     * Wakes every thread blocked on a socket (accept, read, write).
     *
     * @param fd the socket.
     */
    public static void shutdown(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final int ignored = (int)SHUTDOWN.invokeExact(captureSegment(arena), fd, SHUT_RDWR);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Closes a descriptor; errors are ignored (the descriptor is gone either way on Linux).
     *
     * @param fd the descriptor, or a negative number for none.
     */
    public static void close(final int fd)
    {
        if (fd < 0)
        {
            return;
        }
        try (Arena arena = Arena.ofConfined())
        {
            final int ignored = (int)CLOSE.invokeExact(captureSegment(arena), fd);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------ memory

    /**
     * Creates an anonymous memory file of {@code bytes}, sealed so that no process holding it can shrink or grow
     * it (a shrink would make every mapping of it fault).
     *
     * @param name  a name for /proc/PID/maps (nothing is created in the file system).
     * @param bytes its size.
     * @return the descriptor.
     */
    public static int sealedMemfd(final String name, final long bytes)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            final int fd = check("memfd_create", (int)MEMFD_CREATE.invokeExact(cap, arena.allocateFrom(name),
                MFD_CLOEXEC | MFD_ALLOW_SEALING), cap);
            try
            {
                check("ftruncate", (int)FTRUNCATE.invokeExact(cap, fd, bytes), cap);
                check("fcntl(F_ADD_SEALS)", (int)FCNTL_INT.invokeExact(cap, fd, F_ADD_SEALS,
                    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), cap);
                return fd;
            }
            catch (final RuntimeException ex)
            {
                close(fd);
                throw ex;
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param fd a memory file.
     * @return its seals.
     */
    public static int seals(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            return check("fcntl(F_GET_SEALS)", (int)FCNTL_INT.invokeExact(cap, fd, F_GET_SEALS, 0), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param fd a descriptor.
     * @return a second descriptor of the same file (close on exec).
     */
    public static int duplicate(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            return check("fcntl(F_DUPFD_CLOEXEC)", (int)FCNTL_INT.invokeExact(cap, fd, 1030, 0), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param fd a file.
     * @return its size.
     */
    public static long size(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            final long rc = (long)LSEEK.invokeExact(cap, fd, 0L, 2);
            if (rc < 0)
            {
                throw new SystemCallException("lseek", errno(cap));
            }
            return rc;
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * Maps {@code length} bytes of a file from {@code offset} (a multiple of the page size), shared, read-write,
     * every page faulted in now ({@code MAP_POPULATE}): transfers then touch no page for the first time.
     *
     * @return the address.
     */
    public static long mapShared(final int fd, final long offset, final long length)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            final long at = (long)MMAP.invokeExact(cap, 0L, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                offset);
            if (MAP_FAILED == at)
            {
                throw new SystemCallException("mmap", errno(cap));
            }
            return at;
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param address a mapping's address.
     * @param length  its length.
     */
    public static void unmap(final long address, final long length)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment cap = captureSegment(arena);
            check("munmap", (int)MUNMAP.invokeExact(cap, address, length), cap);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------ cross-memory attach

    /**
     * One {@code process_vm_readv} (read) or {@code process_vm_writev} (write) call.
     *
     * @param write    true to write into the other process.
     * @param pid      the other process.
     * @param local    local iovecs.
     * @param localN   their count.
     * @param remote   remote iovecs.
     * @param remoteN  their count.
     * @param capture  a capture segment.
     * @return bytes moved (may be fewer than asked: the caller continues after them), or -errno.
     */
    public static long crossMemory(final boolean write, final int pid, final MemorySegment local, final long localN,
        final MemorySegment remote, final long remoteN, final MemorySegment capture)
    {
        try
        {
            final long rc = write ?
                (long)PROCESS_VM_WRITEV.invokeExact(capture, pid, local, localN, remote, remoteN, 0L) :
                (long)PROCESS_VM_READV.invokeExact(capture, pid, local, localN, remote, remoteN, 0L);
            return rc < 0 ? -errno(capture) : rc;
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** @return this process's real user id. */
    public static int uid()
    {
        try
        {
            return (int)GETUID.invokeExact();
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * @param errno an errno value.
     * @return its name, for messages.
     */
    public static String errnoName(final int errno)
    {
        return switch (errno)
        {
            case EPERM -> "EPERM (not permitted: ptrace policy or another user)";
            case 2 -> "ENOENT";
            case ESRCH -> "ESRCH (no such process)";
            case EINTR -> "EINTR";
            case 9 -> "EBADF";
            case EAGAIN -> "EAGAIN (timed out)";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case EFAULT -> "EFAULT (address not mapped in the other process)";
            case 22 -> "EINVAL";
            case 24 -> "EMFILE (too many open files)";
            case 32 -> "EPIPE (the peer closed)";
            case ENOSYS -> "ENOSYS (not in this kernel)";
            case 104 -> "ECONNRESET (the peer closed)";
            case 111 -> "ECONNREFUSED (nobody listens)";
            default -> "errno " + errno;
        };
    }
}
