package io.ferry.cuda;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * GPU benchmark run by {@code bench/gpu/run}: prints {@code key GB/s} lines (median of timed iterations after
 * warm-up; bytes moved / time) for VRAM->VRAM on one device (ferry and a raw driver copy), across devices, and
 * cross-process READ and WRITE through CUDA IPC.
 */
public final class CudaBench
{
    /** Warm-up runs for at least this long (and at least {@link #WARMUP} iterations), so the JIT has compiled
     * the data path of both processes before timing starts, as it has in a server that moves blocks all day. */
    private static final long WARMUP_NS = 1_000_000_000L;
    private static final int WARMUP = 3;
    private static final int ITERATIONS = 31;

    private CudaBench()
    {
    }

    static double median(final double[] v)
    {
        final double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Runs {@code step} until the warm-up time and count have both passed. */
    private static void warmUp(final Runnable step)
    {
        final long start = System.nanoTime();
        for (int i = 0; i < WARMUP || System.nanoTime() - start < WARMUP_NS; i++)
        {
            step.run();
        }
    }

    static double time(final Transfer t, final long bytes)
    {
        final double[] gbps = new double[ITERATIONS];
        final double[] post = new double[ITERATIONS];
        final double[] xfer = new double[ITERATIONS];
        warmUp(() ->
        {
            t.post();
            t.await(Duration.ofSeconds(60));
        });
        for (int i = WARMUP; i < WARMUP + ITERATIONS; i++)
        {
            final long start = System.nanoTime();
            t.post();
            t.await(Duration.ofSeconds(60));
            final long ns = System.nanoTime() - start;
            if (i >= WARMUP)
            {
                gbps[i - WARMUP] = bytes / (double)ns;
                post[i - WARMUP] = t.telemetry().postDuration().toNanos() / 1e3;
                xfer[i - WARMUP] = t.telemetry().transferDuration().toNanos() / 1e3;
            }
        }
        System.out.printf("diag %s: post %.1f us, post-to-complete %.1f us, wall %.1f us (medians)%n", t,
            median(post), median(xfer), bytes / median(gbps) / 1e3);
        return median(gbps);
    }

    static double raw(final CudaDriver d, final long dst, final long src, final long bytes)
    {
        final Contexts c = new Contexts(d);
        c.makeCurrent(0);
        final java.lang.foreign.MemorySegment stream = c.stream(0);
        final double[] gbps = new double[ITERATIONS];
        warmUp(() ->
        {
            d.memcpyAsync(dst, src, bytes, stream);
            d.streamSynchronize(stream);
        });
        for (int i = WARMUP; i < WARMUP + ITERATIONS; i++)
        {
            final long start = System.nanoTime();
            d.memcpyAsync(dst, src, bytes, stream);
            d.streamSynchronize(stream);
            final long ns = System.nanoTime() - start;
            if (i >= WARMUP)
            {
                gbps[i - WARMUP] = bytes / (double)ns;
            }
        }
        final double[] launch = new double[ITERATIONS];
        final double[] withEvent = new double[ITERATIONS];
        final java.lang.foreign.MemorySegment event = d.eventCreate();
        for (int i = 0; i < WARMUP + ITERATIONS; i++) // the loop above warmed the calls
        {
            final long start = System.nanoTime();
            d.memcpyAsync(dst, src, bytes, stream);
            final long launched = System.nanoTime();
            d.eventRecord(event, stream);
            d.eventSynchronize(event);
            final long ns = System.nanoTime() - start;
            if (i >= WARMUP)
            {
                launch[i - WARMUP] = (launched - start) / 1e3;
                withEvent[i - WARMUP] = bytes / (double)ns;
            }
        }
        d.eventDestroy(event);
        System.out.printf("diag raw %d MiB: launch %.1f us, with event + sync %.1f GB/s%n", bytes >> 20,
            median(launch), median(withEvent));
        c.close();
        return median(gbps);
    }

    private static DescList vram(final long p, final long bytes, final int device)
    {
        return DescList.of(MemoryKind.VRAM, new MemoryDesc(p, bytes, device));
    }

    /**
     * @param args optional sizes in MiB (default 64 256 1024).
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final CudaDriver d = Gpu.require();
        final int devices = Gpu.devices();
        System.out.println("gpu " + d.deviceName(0).replace(' ', '_') + " x" + devices + " driver " + d.driverVersion());
        final long[] sizes = 0 == args.length ? new long[] {64, 256, 1024} :
            Arrays.stream(args).mapToLong(Long::parseLong).toArray();
        try (Agent agent = Agent.create(AgentConfig.builder("gpu-bench").backends("CUDA").build()))
        {
            for (final long mib : sizes)
            {
                final long bytes = mib << 20;
                final long a = Gpu.alloc(0, bytes);
                final long b = Gpu.alloc(0, bytes);
                agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(a, bytes, 0), Region.ofAddress(b, bytes, 0)));
                final Transfer t = agent.createTransfer(TransferOp.WRITE, vram(a, bytes, 0), vram(b, bytes, 0),
                    agent.name(), TransferOptions.NONE);
                System.out.printf("ferry_d2d_%dMiB %.1f%n", mib, time(t, bytes));
                System.out.printf("raw_d2d_%dMiB %.1f%n", mib, raw(d, b, a, bytes));
                if (devices > 1)
                {
                    final long c = Gpu.alloc(1, bytes);
                    agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(c, bytes, 1)));
                    final Transfer peer = agent.createTransfer(TransferOp.WRITE, vram(a, bytes, 0), vram(c, bytes, 1),
                        agent.name(), TransferOptions.NONE);
                    System.out.printf("ferry_peer_%dMiB %.1f%n", mib, time(peer, bytes));
                    agent.deregister(MemoryKind.VRAM, vram(c, bytes, 1));
                    Gpu.free(1, c);
                }
                agent.deregister(MemoryKind.VRAM, DescList.of(MemoryKind.VRAM, new MemoryDesc(a, bytes, 0),
                    new MemoryDesc(b, bytes, 0)));
                Gpu.free(0, a);
                Gpu.free(0, b);
            }
            final long bytes = 256L << 20;
            for (int peerDevice = 0; peerDevice < Math.min(2, devices); peerDevice++)
            {
                final long mine = Gpu.alloc(0, bytes);
                try (CudaPeer peer = new CudaPeer("gpu-bench-peer-" + peerDevice, peerDevice, bytes))
                {
                    agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(mine, bytes, 0)));
                    final String name = agent.loadRemoteMetadata(peer.metadata);
                    final long theirs = agent.peerRegions(name, MemoryKind.VRAM).address(0);
                    final Transfer read = agent.createTransfer(TransferOp.READ, vram(mine, bytes, 0),
                        vram(theirs, bytes, peerDevice), name, TransferOptions.NONE);
                    final Transfer write = agent.createTransfer(TransferOp.WRITE, vram(mine, bytes, 0),
                        vram(theirs, bytes, peerDevice), name, TransferOptions.NONE);
                    System.out.printf("ipc_read_dev0_from_dev%d_256MiB %.1f%n", peerDevice, time(read, bytes));
                    System.out.printf("ipc_write_dev0_to_dev%d_256MiB %.1f%n", peerDevice, time(write, bytes));
                    agent.invalidateRemote(name);
                    agent.deregister(MemoryKind.VRAM, vram(mine, bytes, 0));
                }
                Gpu.free(0, mine);
            }
        }
        for (int round = 1; round <= 3; round++)
        {
            tcp(64L << 20, java.util.Map.of(), "_r" + round);
            tcp(64L << 20, java.util.Map.of("chunk_size", Integer.toString(4 << 20)), "_chunk4m_r" + round);
        }
    }

    /** DRAM->DRAM and VRAM->VRAM over the TCP backend between two processes on loopback, READ and WRITE. */
    @SuppressWarnings("restricted")
    private static void tcp(final long bytes, final java.util.Map<String, String> params, final String suffix)
        throws Exception
    {
        for (final String kind : new String[] {"DRAM", "VRAM"})
        {
            final boolean vram = "VRAM".equals(kind);
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
                CudaPeer peer = new CudaPeer("tcp-bench-peer-" + kind, 0, bytes, "TCP", kind);
                Agent agent = Agent.create(AgentConfig.builder("tcp-bench-" + kind).backend("TCP", params).build()))
            {
                final long local = vram ? Gpu.alloc(0, bytes) : arena.allocate(bytes, 4096).address();
                final MemoryKind mk = vram ? MemoryKind.VRAM : MemoryKind.DRAM;
                agent.register(mk, List.of(vram ? Region.ofAddress(local, bytes, 0) :
                    Region.of(java.lang.foreign.MemorySegment.ofAddress(local).reinterpret(bytes))));
                final String name = agent.loadRemoteMetadata(peer.metadata);
                final long theirs = agent.peerRegions(name, mk).address(0);
                final DescList l = DescList.of(mk, new MemoryDesc(local, bytes, 0));
                final DescList r = DescList.of(mk, new MemoryDesc(theirs, bytes, 0));
                final Transfer write = agent.createTransfer(TransferOp.WRITE, l, r, name, TransferOptions.NONE);
                final Transfer read = agent.createTransfer(TransferOp.READ, l, r, name, TransferOptions.NONE);
                System.out.printf("tcp_write_%s_%dMiB%s %.2f%n", kind, bytes >> 20, suffix, time(write, bytes));
                System.out.printf("tcp_read_%s_%dMiB%s %.2f%n", kind, bytes >> 20, suffix, time(read, bytes));
                agent.invalidateRemote(name);
                if (vram)
                {
                    Gpu.free(0, local);
                }
            }
        }
    }
}
