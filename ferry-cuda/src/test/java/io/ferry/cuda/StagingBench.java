package io.ferry.cuda;

import io.ferry.spi.DeviceMemory;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * How fast the TCP backend's staging lanes move bytes between GPU 0 and pinned host memory when several I/O threads
 * use them at once, the way {@code io.ferry.tcp.StagedPipeline} does (a 4 MiB frame in slices, a mark after each,
 * the marks waited for in order). Prints {@code slice KiB, threads, direction, GB/s} lines; no sockets involved.
 * Run on a GPU machine: {@code java -cp ... io.ferry.cuda.StagingBench [SLICE_KIB ...]} (default 512 1024 4096).
 */
public final class StagingBench
{
    private static final long FRAME = 4L << 20;
    private static final long RUN_NS = 1_000_000_000L;

    private StagingBench()
    {
    }

    /**
     * @param args slice sizes in KiB.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        Gpu.require();
        final DeviceMemory memory = new CudaDeviceMemory();
        final String[] slices = 0 == args.length ? new String[] {"512", "1024", "4096"} : args;
        for (final String s : slices)
        {
            final long slice = Long.parseLong(s) << 10;
            for (final int threads : new int[] {1, 2, 4, 8, 16})
            {
                for (final boolean toHost : new boolean[] {true, false})
                {
                    System.out.printf("slice %d KiB threads %2d %-9s %.1f GB/s%n", slice >> 10, threads,
                        toHost ? "to host" : "to device", gbps(memory, slice, threads, toHost));
                }
            }
        }
    }

    private static double gbps(final DeviceMemory memory, final long slice, final int threads, final boolean toHost)
        throws Exception
    {
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            final CyclicBarrier start = new CyclicBarrier(threads);
            final Future<?>[] done = new Future<?>[threads];
            final long[] bytes = new long[threads];
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                done[t] = pool.submit(() ->
                {
                    try (VramBuffer vram = VramBuffer.allocate(0, FRAME);
                        DeviceMemory.Staging lane = memory.openStaging(FRAME))
                    {
                        for (int w = 0; w < 200; w++)
                        {
                            frame(lane, vram.address(), slice, toHost);
                        }
                        start.await();
                        final long begin = System.nanoTime();
                        long n = 0;
                        while (System.nanoTime() - begin < RUN_NS)
                        {
                            frame(lane, vram.address(), slice, toHost);
                            n += FRAME;
                        }
                        bytes[id] = n;
                    }
                    return null;
                });
            }
            long total = 0;
            for (int t = 0; t < threads; t++)
            {
                done[t].get();
                total += bytes[t];
            }
            return total / (RUN_NS / 1e9) / 1e9;
        }
        finally
        {
            pool.shutdown();
        }
    }

    private static void frame(final DeviceMemory.Staging lane, final long vram, final long slice, final boolean toHost)
    {
        int first = -1;
        for (long at = 0; at < FRAME; at += slice)
        {
            if (toHost)
            {
                lane.toHost(0, vram + at, at, slice);
            }
            else
            {
                lane.toDevice(0, at, vram + at, slice);
            }
            final int mark = lane.mark();
            first = first < 0 ? mark : first;
        }
        for (int k = 0; k < FRAME / slice; k++)
        {
            lane.awaitMark(first + k);
        }
    }
}
