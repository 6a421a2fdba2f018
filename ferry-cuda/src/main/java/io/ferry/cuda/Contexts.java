package io.ferry.cuda;

import io.ferry.FerryException;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The primary context and one copy stream of each device, retained on first use and released on close; any thread
 * may make a device's context current before calling the driver.
 */
final class Contexts
{
    private final CudaDriver driver;
    private final AtomicReferenceArray<MemorySegment> contexts;
    private final AtomicReferenceArray<MemorySegment> streams;

    private static volatile Contexts shared;

    /**
     * @return the process-wide instance for helpers that are not backends (staging lanes, {@link VramBuffer}):
     * primary contexts are per process anyway; its streams are never used by a backend.
     */
    static Contexts shared()
    {
        Contexts c = shared;
        if (null == c)
        {
            synchronized (Contexts.class)
            {
                c = shared;
                if (null == c)
                {
                    c = new Contexts(CudaDriver.load());
                    shared = c;
                }
            }
        }
        return c;
    }

    Contexts(final CudaDriver driver)
    {
        this.driver = driver;
        final int n = driver.deviceCount();
        contexts = new AtomicReferenceArray<>(n);
        streams = new AtomicReferenceArray<>(n);
    }

    int deviceCount()
    {
        return contexts.length();
    }

    /** Lock-free once made: the progress thread and posters call this on every copy and event query. */
    MemorySegment context(final int device)
    {
        final MemorySegment c = contexts.get(device);
        return null != c ? c : makeContext(device);
    }

    private synchronized MemorySegment makeContext(final int device)
    {
        MemorySegment c = contexts.get(device);
        if (null == c)
        {
            c = driver.primaryContextRetain(device);
            contexts.set(device, c);
        }
        return c;
    }

    /**
     * Checks that a span is live device memory on the device named, inside one allocation.
     *
     * @return {base, size} of the allocation.
     * @throws FerryException INVALID_PARAM naming what is wrong.
     */
    long[] checkRegion(final long address, final long length, final long device)
    {
        final String what = "VRAM region [0x" + Long.toHexString(address) + ", " + length + " B] on cuda:" + device;
        if (device < 0 || device >= deviceCount())
        {
            throw FerryException.invalid(what + ": device id " + device + " does not exist (this host has " +
                deviceCount() + " CUDA device(s))");
        }
        makeCurrent((int)device);
        final int actual = driver.pointerDevice(address);
        if (actual < 0)
        {
            throw FerryException.invalid(what + ": 0x" + Long.toHexString(address) + " is not live device memory " +
                "(freed, host memory, or never allocated)");
        }
        if (actual != device)
        {
            throw FerryException.invalid(what + ": the memory lives on cuda:" + actual + ", not cuda:" + device);
        }
        final long[] range = driver.addressRange(address);
        if (null == range || address + length > range[0] + range[1])
        {
            throw FerryException.invalid(what + ": it runs past the end of its allocation" + (null == range ? "" :
                " [0x" + Long.toHexString(range[0]) + ", " + range[1] + " B]"));
        }
        return range;
    }

    void makeCurrent(final int device)
    {
        driver.setCurrent(context(device));
    }

    /** The device's copy stream; lock-free once made. */
    MemorySegment stream(final int device)
    {
        final MemorySegment s = streams.get(device);
        return null != s ? s : makeStream(device);
    }

    private synchronized MemorySegment makeStream(final int device)
    {
        MemorySegment s = streams.get(device);
        if (null == s)
        {
            makeCurrent(device);
            s = driver.streamCreate();
            streams.set(device, s);
        }
        return s;
    }

    synchronized void close()
    {
        for (int d = 0; d < contexts.length(); d++)
        {
            final MemorySegment c = contexts.getAndSet(d, null);
            if (null != c)
            {
                try
                {
                    driver.setCurrent(c);
                    final MemorySegment s = streams.getAndSet(d, null);
                    if (null != s)
                    {
                        driver.streamSynchronize(s);
                        driver.streamDestroy(s);
                    }
                    driver.primaryContextRelease(d);
                }
                catch (final RuntimeException ex)
                {
                    // releasing the rest anyway
                }
            }
        }
    }
}
