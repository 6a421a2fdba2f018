package io.ferry.cuda;

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
