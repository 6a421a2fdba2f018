package io.ferry.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Collects a staging lane's copies per device (VRAM pieces to and from its pinned buffer) and queues them, when the
 * lane marks or waits, as one launch of the copy kernel ({@link CopyKernel}) when there are enough of them, else as
 * one driver copy each. This is what lets the TCP backend stage a chunk of many small VRAM blocks at the device's
 * speed rather than at one driver copy (about 4 µs of the device's time on the H200) per block.
 * <p>
 * The items go to a device table by an asynchronous copy from pageable memory (the driver takes the bytes at once,
 * so the host array is free again when the call returns), on the lane's stream ahead of the launch; stream order
 * keeps the next flush's table copy behind this launch, so one device table per device is enough. One lane, one
 * thread: no locking. {@code -Dferry.cuda.staging_kernel=false} turns it off.
 */
final class StagingGather
{
    /** Items gathered per device before a flush is forced. */
    static final int CAPACITY = 4096;
    private static final boolean ENABLED = !"false".equals(System.getProperty("ferry.cuda.staging_kernel"));
    private static final java.util.concurrent.atomic.AtomicLong LAUNCHES = new java.util.concurrent.atomic.AtomicLong();

    /** Queues one copy with the driver (the path without the kernel). */
    @FunctionalInterface
    interface DriverCopy
    {
        void copy(long dst, long src, long length, MemorySegment stream);
    }

    private final CudaDriver driver;
    private final CopyKernel kernel;
    private final Arena arena;
    private final long[][] src;
    private final long[][] dst;
    private final long[][] len;
    private final int[] count;
    private final long[] table;
    private final MemorySegment[] params;
    private final MemorySegment items;

    StagingGather(final CudaDriver driver, final int devices, final Arena arena)
    {
        this.driver = driver;
        this.kernel = ENABLED ? CopyKernel.shared() : null;
        this.arena = arena;
        this.src = new long[devices][];
        this.dst = new long[devices][];
        this.len = new long[devices][];
        this.count = new int[devices];
        this.table = new long[devices];
        this.params = new MemorySegment[devices];
        this.items = ENABLED ? arena.allocate((long)CAPACITY * CopyTable.ITEM, 8) : null;
    }

    /**
     * @param device the device of the VRAM side.
     * @return true when copies on this device are gathered (else the lane queues them itself).
     */
    boolean gathers(final int device)
    {
        return null != kernel && null == kernel.unavailableReason(device) && kernel.reachesHostMemory(device);
    }

    /**
     * Adds a copy; when the device already holds {@link #CAPACITY}, flushes first.
     *
     * @return true when {@code flush} must be called for this device before another add (it is full).
     */
    boolean add(final int device, final long to, final long from, final long length)
    {
        if (null == src[device])
        {
            src[device] = new long[CAPACITY];
            dst[device] = new long[CAPACITY];
            len[device] = new long[CAPACITY];
        }
        final int n = count[device];
        src[device][n] = from;
        dst[device][n] = to;
        len[device][n] = length;
        count[device] = n + 1;
        return n + 1 == CAPACITY;
    }

    /** @return whether the device has copies waiting. */
    boolean pending(final int device)
    {
        return 0 != count[device];
    }

    /**
     * Queues the device's gathered copies on its stream (its context current).
     *
     * @param device   the device.
     * @param stream   the lane's stream on it.
     * @param fallback queues one driver copy (fewer copies than the kernel pays for, or no kernel there).
     */
    void flush(final int device, final MemorySegment stream, final DriverCopy fallback)
    {
        final int n = count[device];
        count[device] = 0;
        if (n >= KernelRule.DEFAULT_MIN_SPANS && launch(device, n, stream))
        {
            return;
        }
        for (int i = 0; i < n; i++)
        {
            fallback.copy(dst[device][i], src[device][i], len[device][i], stream);
        }
    }

    private boolean launch(final int device, final int n, final MemorySegment stream)
    {
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            total += len[device][i];
        }
        if (total / n > KernelRule.DEFAULT_MAX_MEAN_BYTES)
        {
            return false;
        }
        if (0 == table[device])
        {
            table[device] = driver.memAlloc((long)CAPACITY * CopyTable.ITEM);
            params[device] = CopyKernel.launchParams(arena, table[device]);
        }
        for (int i = 0; i < n; i++)
        {
            CopyTable.put(items, i, src[device][i], dst[device][i], len[device][i]);
        }
        driver.memcpyHtoDAsync(table[device], items.address(), (long)n * CopyTable.ITEM, stream);
        CopyKernel.itemCount(params[device], n);
        if (kernel.launchTable(device, params[device], n, stream))
        {
            LAUNCHES.incrementAndGet();
            return true;
        }
        return false;
    }

    /** @return the kernel launches of every lane of this process so far (tests and diagnostics). */
    static long launches()
    {
        return LAUNCHES.get();
    }

    /**
     * Frees the device tables (after the lane's streams are idle).
     *
     * @param current makes a device's context current.
     */
    void close(final java.util.function.IntConsumer current)
    {
        for (int d = 0; d < table.length; d++)
        {
            if (0 != table[d])
            {
                current.accept(d);
                driver.memFree(table[d]);
                table[d] = 0;
            }
        }
    }
}
