package io.ferry.file;

import io.ferry.internal.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One io_uring instance, driven by one thread: the rings are mapped from the kernel and read and written through
 * FFM, with acquire loads and release stores on the head and tail words as the kernel's protocol requires.
 * <pre>
 *  submission queue entry (64 bytes)                 completion queue entry (16 bytes)
 *  0  opcode u8 | flags u8 | ioprio u16 | fd i32      0  user data u64
 *  8  file offset u64                                 8  result i32 | flags u32
 *  16 buffer address u64
 *  24 length u32 | rw / fsync flags u32
 *  32 user data u64
 *  40 buf_index u16 | personality u16 | ...  (zero)
 * </pre>
 * Not thread-safe: one owner thread calls every method.
 */
@SuppressWarnings("restricted") // the kernel's ring memory, mapped here
final class IoUring implements AutoCloseable
{
    static final byte OP_FSYNC = 3;
    static final byte OP_READ = 22;
    static final byte OP_WRITE = 23;
    static final int FSYNC_DATASYNC = 1;
    private static final int ENTER_GETEVENTS = 1;
    private static final int FEAT_SINGLE_MMAP = 1;
    private static final long OFF_SQ_RING = 0;
    private static final long OFF_CQ_RING = 0x8000000L;
    private static final long OFF_SQES = 0x10000000L;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final int fd;
    private final int entries;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final long sqRingBytes;
    private final long cqRingBytes;
    private final boolean singleMap;
    private final long sqHead;
    private final long sqTail;
    private final long sqMask;
    private final long sqArray;
    private final long cqHead;
    private final long cqTail;
    private final long cqMask;
    private final long cqes;
    private final Arena arena = Arena.ofShared(); // made by one thread, driven by another
    private final MemorySegment capture = Posix.captureSegment(arena);
    private int localTail;
    private int unsubmitted;

    /**
     * @param depth the most submissions in flight (rounded up by the kernel to a power of two).
     * @throws io.ferry.internal.SystemCallException when the kernel refuses (no io_uring, seccomp, memlock).
     */
    IoUring(final int depth)
    {
        final MemorySegment p = arena.allocate(120, 8);
        fd = FileCalls.ioUringSetup(depth, p);
        entries = p.get(ValueLayout.JAVA_INT, 0);
        final int cqEntries = p.get(ValueLayout.JAVA_INT, 4);
        final int features = p.get(ValueLayout.JAVA_INT, 20);
        sqHead = p.get(ValueLayout.JAVA_INT, 40);
        sqTail = p.get(ValueLayout.JAVA_INT, 44);
        sqMask = p.get(ValueLayout.JAVA_INT, 48);
        sqArray = p.get(ValueLayout.JAVA_INT, 64);
        cqHead = p.get(ValueLayout.JAVA_INT, 80);
        cqTail = p.get(ValueLayout.JAVA_INT, 84);
        cqMask = p.get(ValueLayout.JAVA_INT, 88);
        cqes = p.get(ValueLayout.JAVA_INT, 100);
        final long sqBytes = sqArray + 4L * entries;
        final long cqBytes = cqes + 16L * cqEntries;
        singleMap = 0 != (features & FEAT_SINGLE_MMAP);
        try
        {
            if (singleMap)
            {
                final long bytes = Math.max(sqBytes, cqBytes);
                final long at = FileCalls.mapRing(fd, bytes, OFF_SQ_RING);
                sqRing = MemorySegment.ofAddress(at).reinterpret(bytes);
                cqRing = sqRing;
                sqRingBytes = bytes;
                cqRingBytes = 0;
            }
            else
            {
                sqRing = MemorySegment.ofAddress(FileCalls.mapRing(fd, sqBytes, OFF_SQ_RING)).reinterpret(sqBytes);
                cqRing = MemorySegment.ofAddress(FileCalls.mapRing(fd, cqBytes, OFF_CQ_RING)).reinterpret(cqBytes);
                sqRingBytes = sqBytes;
                cqRingBytes = cqBytes;
            }
            sqes = MemorySegment.ofAddress(FileCalls.mapRing(fd, 64L * entries, OFF_SQES)).reinterpret(64L * entries);
        }
        catch (final RuntimeException ex)
        {
            Posix.close(fd);
            arena.close();
            throw ex;
        }
        localTail = (int)INT.getAcquire(sqRing, sqTail);
    }

    /** @return the ring's size: the most submissions in flight. */
    int entries()
    {
        return entries;
    }

    /** @return free submission slots. */
    int free()
    {
        return entries - (localTail - (int)INT.getAcquire(sqRing, sqHead));
    }

    /**
     * Queues one operation (submitted by the next {@link #enter}); the caller checked {@link #free()}.
     */
    void queue(final byte opcode, final int fileFd, final long fileOffset, final long address, final int length,
        final int opFlags, final long userData)
    {
        final int index = localTail & (int)INT.get(sqRing, sqMask);
        final long at = 64L * index;
        for (long w = 0; w < 64; w += 8)
        {
            sqes.set(ValueLayout.JAVA_LONG, at + w, 0L);
        }
        sqes.set(ValueLayout.JAVA_BYTE, at, opcode);
        sqes.set(ValueLayout.JAVA_INT, at + 4, fileFd);
        sqes.set(ValueLayout.JAVA_LONG, at + 8, fileOffset);
        sqes.set(ValueLayout.JAVA_LONG, at + 16, address);
        sqes.set(ValueLayout.JAVA_INT, at + 24, length);
        sqes.set(ValueLayout.JAVA_INT, at + 28, opFlags);
        sqes.set(ValueLayout.JAVA_LONG, at + 32, userData);
        sqRing.set(ValueLayout.JAVA_INT, sqArray + 4L * index, index);
        localTail++;
        INT.setRelease(sqRing, sqTail, localTail);
        unsubmitted++;
    }

    /**
     * Submits what was queued and, with {@code wait}, blocks until at least one completion is ready.
     *
     * @return 0 or -errno (EINTR and EAGAIN are worth a retry).
     */
    int enter(final boolean wait)
    {
        final int rc = FileCalls.ioUringEnter(fd, unsubmitted, wait ? 1 : 0, wait ? ENTER_GETEVENTS : 0, capture);
        if (rc >= 0)
        {
            unsubmitted -= Math.min(unsubmitted, rc);
            return 0;
        }
        return rc;
    }

    /** A completion consumer: user data and result (bytes or -errno). */
    interface Completion
    {
        void complete(long userData, int result);
    }

    /**
     * Hands every ready completion to {@code sink} and frees their slots.
     *
     * @return how many.
     */
    int reap(final Completion sink)
    {
        int head = (int)INT.get(cqRing, cqHead);
        final int tail = (int)INT.getAcquire(cqRing, cqTail);
        final int mask = (int)INT.get(cqRing, cqMask);
        int n = 0;
        while (head != tail)
        {
            final long at = cqes + 16L * (head & mask);
            final long userData = cqRing.get(ValueLayout.JAVA_LONG, at);
            final int result = cqRing.get(ValueLayout.JAVA_INT, at + 8);
            head++;
            n++;
            INT.setRelease(cqRing, cqHead, head);
            sink.complete(userData, result);
        }
        return n;
    }

    public void close()
    {
        Posix.unmap(sqes.address(), sqes.byteSize());
        Posix.unmap(sqRing.address(), sqRingBytes);
        if (!singleMap)
        {
            Posix.unmap(cqRing.address(), cqRingBytes);
        }
        Posix.close(fd);
        arena.close();
    }
}
