package io.ferry.cuda;

import io.ferry.MemoryKind;
import io.ferry.spi.DeviceMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * VRAM access for backends that stage through host memory (the TCP backend): lanes of a pinned host buffer and
 * private non-blocking streams, so the I/O threads of several paths copy concurrently, each frame's pieces queued
 * and waited for once.
 */
public final class CudaDeviceMemory implements DeviceMemory
{
    public MemoryKind kind()
    {
        return MemoryKind.VRAM;
    }

    public String unavailableReason()
    {
        return new CudaBackendProvider().unavailableReason();
    }

    public void checkRegion(final long address, final long length, final long device)
    {
        Contexts.shared().checkRegion(address, length, device);
    }

    public Staging openStaging(final long bytes)
    {
        return new Lane(Contexts.shared(), bytes);
    }

    /** A pinned buffer and a non-blocking stream per device, made on first use. */
    private static final class Lane implements Staging
    {
        private final Contexts contexts;
        private final CudaDriver driver = CudaDriver.load();
        private final Arena arena = Arena.ofShared();
        private final MemorySegment buffer;
        private final MemorySegment[] streams;
        private final boolean[] queued;
        /** Per device: copies queued since the last mark. */
        private final boolean[] sinceMark;
        /** Per device and mark slot: the event a mark records (made on first use). */
        private final MemorySegment[][] markEvents;
        /** Per mark slot: the devices whose streams the mark recorded an event on (bit d). */
        private final long[] markDevices = new long[MAX_MARKS];
        private int nextMark;
        private int current = -1;
        /** Many small pieces of one mark go as one copy kernel launch per device. */
        private final StagingGather gather;

        Lane(final Contexts contexts, final long bytes)
        {
            this.contexts = contexts;
            this.streams = new MemorySegment[contexts.deviceCount()];
            this.queued = new boolean[streams.length];
            this.sinceMark = new boolean[streams.length];
            this.markEvents = new MemorySegment[streams.length][];
            buffer = arena.allocate(bytes, 4096);
            gather = new StagingGather(driver, streams.length, arena);
            contexts.makeCurrent(0);
            try
            {
                driver.hostRegister(buffer.address(), bytes);
            }
            catch (final RuntimeException ex)
            {
                arena.close();
                throw ex;
            }
        }

        public MemorySegment buffer()
        {
            return buffer;
        }

        private MemorySegment stream(final long device)
        {
            final int d = (int)device;
            makeCurrent(d);
            MemorySegment s = streams[d];
            if (null == s)
            {
                s = driver.streamCreate();
                streams[d] = s;
            }
            queued[d] = true;
            sinceMark[d] = true;
            return s;
        }

        private void makeCurrent(final int d)
        {
            if (current != d)
            {
                contexts.makeCurrent(d);
                current = d;
            }
        }

        /** Queues what the gather holds, on every device. */
        private void flushGathered()
        {
            for (int d = 0; d < streams.length; d++)
            {
                if (gather.pending(d))
                {
                    gather.flush(d, stream(d), driver::memcpyAsync);
                }
            }
        }

        public int mark()
        {
            flushGathered();
            final int m = nextMark++;
            final int slot = m & (MAX_MARKS - 1);
            long devices = 0;
            for (int d = 0; d < streams.length; d++)
            {
                if (sinceMark[d])
                {
                    makeCurrent(d);
                    if (null == markEvents[d])
                    {
                        markEvents[d] = new MemorySegment[MAX_MARKS];
                    }
                    MemorySegment e = markEvents[d][slot];
                    if (null == e)
                    {
                        e = driver.eventCreate();
                        markEvents[d][slot] = e;
                    }
                    driver.eventRecord(e, streams[d]);
                    devices |= 1L << d;
                    sinceMark[d] = false;
                }
            }
            markDevices[slot] = devices;
            return m;
        }

        public void awaitMark(final int mark)
        {
            final int slot = mark & (MAX_MARKS - 1);
            final long devices = markDevices[slot];
            for (int d = 0; d < streams.length; d++)
            {
                if (0 != (devices & (1L << d)))
                {
                    makeCurrent(d);
                    driver.eventSynchronize(markEvents[d][slot]);
                }
            }
        }

        public void toHost(final long device, final long src, final long bufferOffset, final long length)
        {
            copy((int)device, buffer.address() + bufferOffset, src, length);
        }

        public void toDevice(final long device, final long bufferOffset, final long dst, final long length)
        {
            copy((int)device, dst, buffer.address() + bufferOffset, length);
        }

        private void copy(final int device, final long dst, final long src, final long length)
        {
            if (gather.gathers(device))
            {
                if (gather.add(device, dst, src, length))
                {
                    gather.flush(device, stream(device), driver::memcpyAsync);
                }
            }
            else
            {
                driver.memcpyAsync(dst, src, length, stream(device));
            }
        }

        public void await()
        {
            flushGathered();
            for (int d = 0; d < streams.length; d++)
            {
                if (queued[d])
                {
                    makeCurrent(d);
                    driver.streamSynchronize(streams[d]);
                    queued[d] = false;
                }
            }
        }

        public void close()
        {
            try
            {
                await();
                for (int d = 0; d < streams.length; d++)
                {
                    if (null != streams[d])
                    {
                        contexts.makeCurrent(d);
                        driver.streamDestroy(streams[d]);
                        streams[d] = null;
                    }
                    if (null != markEvents[d])
                    {
                        contexts.makeCurrent(d);
                        for (final MemorySegment e : markEvents[d])
                        {
                            if (null != e)
                            {
                                driver.eventDestroy(e);
                            }
                        }
                        markEvents[d] = null;
                    }
                }
                gather.close(contexts::makeCurrent);
                contexts.makeCurrent(0);
                driver.hostUnregister(buffer.address());
            }
            finally
            {
                arena.close();
            }
        }
    }
}
