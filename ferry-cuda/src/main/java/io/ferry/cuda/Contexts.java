package io.ferry.cuda;

import java.lang.foreign.MemorySegment;

/**
 * The primary context and one copy stream of each device, retained on first use and released on close; any thread
 * may make a device's context current before calling the driver.
 */
final class Contexts
{
    private final CudaDriver driver;
    private final MemorySegment[] contexts;
    private final MemorySegment[] streams;

    Contexts(final CudaDriver driver)
    {
        this.driver = driver;
        final int n = driver.deviceCount();
        contexts = new MemorySegment[n];
        streams = new MemorySegment[n];
    }

    int deviceCount()
    {
        return contexts.length;
    }

    synchronized MemorySegment context(final int device)
    {
        MemorySegment c = contexts[device];
        if (null == c)
        {
            c = driver.primaryContextRetain(device);
            contexts[device] = c;
        }
        return c;
    }

    void makeCurrent(final int device)
    {
        driver.setCurrent(context(device));
    }

    /** The device's copy stream; its context must be current. */
    synchronized MemorySegment stream(final int device)
    {
        MemorySegment s = streams[device];
        if (null == s)
        {
            makeCurrent(device);
            s = driver.streamCreate();
            streams[device] = s;
        }
        return s;
    }

    synchronized void close()
    {
        for (int d = 0; d < contexts.length; d++)
        {
            if (null != contexts[d])
            {
                try
                {
                    driver.setCurrent(contexts[d]);
                    if (null != streams[d])
                    {
                        driver.streamSynchronize(streams[d]);
                        driver.streamDestroy(streams[d]);
                    }
                    driver.primaryContextRelease(d);
                }
                catch (final RuntimeException ex)
                {
                    // releasing the rest anyway
                }
                contexts[d] = null;
                streams[d] = null;
            }
        }
    }
}
