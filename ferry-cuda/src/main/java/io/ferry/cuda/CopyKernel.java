package io.ferry.cuda;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntConsumer;

/**
 * The batched copy kernel of one CUDA backend: every span of a post on one device copied by one launch
 * ({@code copy_batch.ptx}, kept in the jar as PTX text and compiled by the driver when a device first needs it:
 * {@code cuModuleLoadData}, {@code cuModuleGetFunction}, {@code cuLaunchKernel} over FFM).
 * <p>
 * A request's {@link CopyTable} is uploaded to device memory at its first post (an asynchronous copy on the
 * device's stream, ahead of the launch) and stays there for every later post of the request; it is freed when the
 * request is released ({@link io.ferry.Transfer#close()}) or dropped without a release (a phantom reference noticed
 * by the progress thread) — kept for the next table of its size class, up to {@link #IDLE_LIMIT} per device, since
 * {@code cuMemFree} waits for the device — and for good when the backend closes. Everything here but {@link #table},
 * {@link #release} and {@link #reachesHostMemory} runs on the backend's progress thread, whose device context is
 * current when it calls.
 */
final class CopyKernel
{
    /** The kernel's entry point. */
    static final String ENTRY = "ferry_copy_batch";
    /** Threads per block. */
    static final int THREADS = 256;
    /** The most blocks of one launch; more items are taken in turn by the blocks there are. */
    static final int MAX_GRID = 1 << 20;
    private static final System.Logger LOG = System.getLogger(CopyKernel.class.getName());
    private static volatile MemorySegment ptx;
    /** What every backend of this process found: devices where the kernel cannot run, and why. */
    private static final Set<String> PROCESS_LIMITS = ConcurrentHashMap.newKeySet();

    private final CudaDriver driver;
    private final MemorySegment[] functions;
    private final MemorySegment[] modules;
    private final String[] unavailable;
    /** Per device: 1 when it reaches registered host memory at the host pointer, 0 when not, -1 unknown yet. */
    private final int[] hostPointers;
    private final Set<Table> live = ConcurrentHashMap.newKeySet();
    /** Per device: device buffers of released tables by size class, reused (cuMemFree waits for the device). */
    private final java.util.List<java.util.Map<Long, java.util.ArrayDeque<Long>>> idle;
    private final long[] idleBytes;
    private final ConcurrentLinkedQueue<Table> released = new ConcurrentLinkedQueue<>();
    private final ReferenceQueue<Object> dropped = new ReferenceQueue<>();

    CopyKernel(final CudaDriver driver, final int devices)
    {
        this.driver = driver;
        this.functions = new MemorySegment[devices];
        this.modules = new MemorySegment[devices];
        this.unavailable = new String[devices];
        this.hostPointers = new int[devices];
        java.util.Arrays.fill(hostPointers, -1);
        this.idle = new java.util.ArrayList<>(devices);
        for (int d = 0; d < devices; d++)
        {
            idle.add(new java.util.HashMap<>());
        }
        this.idleBytes = new long[devices];
    }

    /** Idle table buffers kept per device for reuse; more are freed. */
    static final long IDLE_LIMIT = 64L << 20;

    /** The size class of a table: a power of two of at least 4 KiB. */
    static long sizeClass(final long bytes)
    {
        return Math.max(4096, Long.highestOneBit(Math.max(1, bytes - 1)) << 1);
    }

    /**
     * A request's table and its device copy. The phantom reference is to the request, so that a request dropped
     * without {@link #release} still frees its device memory.
     */
    static final class Table extends PhantomReference<Object>
    {
        final CopyTable layout;
        /** The device copy, 0 until the first post uploads it. */
        long pointer;
        /** {@code void* params[2]} for cuLaunchKernel and the two values they point to. */
        MemorySegment params;
        boolean freed;
        /** Set by {@link #release}: the request is closed and must not launch again. */
        volatile boolean released;
        /** While a launch of it may still run (progress thread only). */
        boolean busy;

        Table(final Object owner, final CopyTable layout, final ReferenceQueue<Object> queue)
        {
            super(owner, queue);
            this.layout = layout;
        }
    }

    /**
     * @param owner  the request the table belongs to.
     * @param layout its spans on one device.
     * @return the table, tracked until released, dropped or closed.
     */
    Table table(final Object owner, final CopyTable layout)
    {
        final Table t = new Table(owner, layout, dropped);
        live.add(t);
        return t;
    }

    /** The request will not be posted again: its tables' device memory is freed by the progress thread. */
    void release(final Table t)
    {
        t.released = true;
        released.add(t);
    }

    /**
     * @param device a device ordinal.
     * @return true when the device reaches host memory registered with the device-map flag at its host address
     * (so a span of pinned DRAM can be an item of the kernel).
     */
    boolean reachesHostMemory(final int device)
    {
        int v = hostPointers[device];
        if (v < 0)
        {
            try
            {
                v = 1 == driver.deviceAttribute(CudaDriver.ATTRIBUTE_HOST_POINTER_FOR_REGISTERED_MEM, device) ? 1 : 0;
            }
            catch (final FerryException ex)
            {
                v = 0;
            }
            hostPointers[device] = v;
        }
        return 1 == v;
    }

    /**
     * @param device a device ordinal.
     * @return why the kernel cannot run there, or null when it can (or was not tried yet).
     */
    String unavailableReason(final int device)
    {
        return unavailable[device];
    }

    /** @return why the kernel cannot run on some device, as any backend of this process found, or null. */
    static String processLimitations()
    {
        return PROCESS_LIMITS.isEmpty() ? null : String.join("; ", new java.util.TreeSet<>(PROCESS_LIMITS));
    }

    /**
     * Queues the table's copies on the stream (uploading the table first when this is its first post). On the
     * progress thread, with the table's device current.
     *
     * @return true when queued; false when the kernel cannot run on this device (the reason is logged once and
     * kept for {@link #processLimitations()}): the caller copies the spans another way.
     * @throws FerryException when the table cannot be placed on the device (out of memory).
     */
    boolean launch(final Table t, final MemorySegment stream)
    {
        final CopyTable layout = t.layout;
        if (t.released)
        {
            throw new FerryException(ErrorCode.CANCELED, "the transfer was closed");
        }
        if (0 == layout.items)
        {
            return true;
        }
        final MemorySegment f = function(layout.device);
        if (null == f)
        {
            return false;
        }
        if (0 == t.pointer)
        {
            final long bytes = (long)layout.items * CopyTable.ITEM;
            final java.util.ArrayDeque<Long> pooled = idle.get(layout.device).get(sizeClass(bytes));
            if (null != pooled && !pooled.isEmpty())
            {
                t.pointer = pooled.pop();
                idleBytes[layout.device] -= sizeClass(bytes);
            }
            else
            {
                t.pointer = driver.memAlloc(sizeClass(bytes));
            }
            driver.memcpyHtoDAsync(t.pointer, layout.host.address(), bytes, stream);
            t.params = launchParams(Arena.ofAuto(), t.pointer);
            itemCount(t.params, layout.items);
        }
        if (!launch(f, layout.device, t.params, layout.items, stream))
        {
            return false;
        }
        t.busy = true;
        return true;
    }

    /**
     * @param arena where the parameters live (as long as the table is launched).
     * @param table the table's device address.
     * @return {@code void* params[2]} for cuLaunchKernel, pointing at the table's address and at an item count set
     * by {@link #itemCount}.
     */
    static MemorySegment launchParams(final Arena arena, final long table)
    {
        final MemorySegment p = arena.allocate(32, 8);
        p.set(ValueLayout.JAVA_LONG, 16, table);
        p.set(ValueLayout.ADDRESS, 0, p.asSlice(16));
        p.set(ValueLayout.ADDRESS, 8, p.asSlice(24));
        return p;
    }

    /** Sets the item count that {@link #launchParams} points at. */
    static void itemCount(final MemorySegment params, final int items)
    {
        params.set(ValueLayout.JAVA_INT, 24, items);
    }

    /** A post of the table's request ended: its copies ran (or the device failed). On the progress thread. */
    static void ended(final Table t)
    {
        t.busy = false;
    }

    /**
     * Queues one launch over a table that the caller placed on the device (a staging lane's), with the current
     * context the device's.
     *
     * @param device the device.
     * @param params {@code void* params[2]}: the table's device address and its item count.
     * @param items  the item count.
     * @param stream the stream.
     * @return true when queued, false when the kernel cannot run on this device (the caller copies another way).
     */
    boolean launchTable(final int device, final MemorySegment params, final int items, final MemorySegment stream)
    {
        final MemorySegment f = function(device);
        return null != f && launch(f, device, params, items, stream);
    }

    private boolean launch(final MemorySegment f, final int device, final MemorySegment params, final int items,
        final MemorySegment stream)
    {
        final int result = driver.launchKernel(f, Math.min(items, MAX_GRID), THREADS, stream, params);
        if (CudaDriver.SUCCESS != result)
        {
            final String why = "the copy kernel could not be launched on cuda:" + device + " (" +
                driver.errorName(result) + "); copying with the driver's copies there";
            unavailable[device] = why;
            PROCESS_LIMITS.add(why);
            LOG.log(System.Logger.Level.WARNING, why);
            return false;
        }
        return true;
    }

    /** The staging lanes' kernel: in the process-wide contexts, which are never released, so never unloaded. */
    static CopyKernel shared()
    {
        CopyKernel k = shared;
        if (null == k)
        {
            synchronized (CopyKernel.class)
            {
                k = shared;
                if (null == k)
                {
                    k = new CopyKernel(CudaDriver.load(), Contexts.shared().deviceCount());
                    shared = k;
                }
            }
        }
        return k;
    }

    private static volatile CopyKernel shared;

    /** Loads the module on first use (any thread: staging lanes launch from their I/O threads). */
    private synchronized MemorySegment function(final int device)
    {
        MemorySegment f = functions[device];
        if (null == f && null == unavailable[device])
        {
            try
            {
                modules[device] = driver.moduleLoadData(ptx());
                f = driver.moduleGetFunction(modules[device], ENTRY);
                functions[device] = f;
            }
            catch (final FerryException ex)
            {
                unavailable[device] = "the copy kernel could not be loaded on cuda:" + device + " (" +
                    ex.getMessage() + "); copying with the driver's copies there";
                PROCESS_LIMITS.add(unavailable[device]);
                LOG.log(System.Logger.Level.WARNING, unavailable[device]);
            }
        }
        return f;
    }

    /**
     * Frees the device copies of released and dropped tables. On the progress thread.
     *
     * @param current makes a device's context current.
     */
    void sweep(final IntConsumer current)
    {
        Table t;
        java.util.List<Table> later = null;
        while (null != (t = released.poll()))
        {
            if (t.busy)
            {
                later = null == later ? new java.util.ArrayList<>() : later;
                later.add(t); // closed while its last launch runs (a post racing the close): freed once it ended
            }
            else
            {
                free(t, current);
            }
        }
        if (null != later)
        {
            released.addAll(later);
        }
        Reference<?> r;
        while (null != (r = dropped.poll()))
        {
            free((Table)r, current);
        }
    }

    private void free(final Table t, final IntConsumer current)
    {
        live.remove(t);
        if (!t.freed && 0 != t.pointer)
        {
            final int d = t.layout.device;
            final long size = sizeClass((long)t.layout.items * CopyTable.ITEM);
            if (idleBytes[d] + size <= IDLE_LIMIT)
            {
                idle.get(d).computeIfAbsent(size, k -> new java.util.ArrayDeque<>()).push(t.pointer);
                idleBytes[d] += size;
            }
            else
            {
                freeBuffer(d, t.pointer, current);
            }
        }
        t.freed = true;
        t.clear();
    }

    private void freeBuffer(final int device, final long pointer, final IntConsumer current)
    {
        current.accept(device);
        try
        {
            driver.memFree(pointer);
        }
        catch (final FerryException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, () -> "freeing a copy table: " + ex.getMessage());
        }
    }

    /**
     * Frees every table's device copy and unloads the modules; after the progress thread stopped.
     *
     * @param current makes a device's context current.
     */
    void close(final IntConsumer current)
    {
        sweep(current);
        for (final Table t : live.toArray(new Table[0]))
        {
            free(t, current);
        }
        for (int d = 0; d < idle.size(); d++)
        {
            for (final java.util.ArrayDeque<Long> q : idle.get(d).values())
            {
                for (final Long p : q)
                {
                    freeBuffer(d, p, current);
                }
            }
            idle.get(d).clear();
            idleBytes[d] = 0;
        }
        for (int d = 0; d < modules.length; d++)
        {
            if (null != modules[d])
            {
                current.accept(d);
                try
                {
                    driver.moduleUnload(modules[d]);
                }
                catch (final FerryException ex)
                {
                    // unloading the rest anyway
                }
                modules[d] = null;
                functions[d] = null;
            }
        }
    }

    /** @return the PTX text, NUL-terminated, in memory that lives as long as the JVM. */
    private static MemorySegment ptx()
    {
        MemorySegment p = ptx;
        if (null == p)
        {
            try (InputStream in = CopyKernel.class.getResourceAsStream("copy_batch.ptx"))
            {
                if (null == in)
                {
                    throw new FerryException(ErrorCode.NOT_SUPPORTED, "copy_batch.ptx is missing from ferry-cuda's jar");
                }
                final byte[] text = in.readAllBytes();
                p = Arena.global().allocate(text.length + 1L);
                MemorySegment.copy(text, 0, p, ValueLayout.JAVA_BYTE, 0, text.length);
                ptx = p;
            }
            catch (final IOException ex)
            {
                throw new FerryException(ErrorCode.NOT_SUPPORTED, "cannot read copy_batch.ptx: " + ex.getMessage());
            }
        }
        return p;
    }
}
