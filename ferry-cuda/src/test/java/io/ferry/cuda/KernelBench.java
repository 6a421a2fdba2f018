package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.Fixtures;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The copy kernel against the driver's copies and one contiguous copy, run by {@code bench/gpu/run kernel}: prints
 * {@code key value} lines (GB/s, or microseconds for {@code lat_}). Every case runs twice, with
 * {@code copy_kernel=always} ({@code k_}) and {@code never} ({@code c_}), each on a fresh agent; blocks move in a
 * random permutation, as a KV cache's block ids do.
 */
public final class KernelBench
{
    private static final long GIB = 1L << 30;

    private KernelBench()
    {
    }

    /** Block i of {@code from} goes to block perm(i) of {@code to}. */
    private static DescList[] blocks(final MemoryKind fromKind, final long from, final MemoryKind toKind,
        final long to, final int count, final long block, final long seed)
    {
        final int[] order = TestData.permutation(count, new Random(seed));
        final DescList.Builder f = DescList.builder(fromKind, count);
        final DescList.Builder t = DescList.builder(toKind, count);
        for (int i = 0; i < count; i++)
        {
            f.add(from + i * block, block, 0);
            t.add(to + order[i] * block, block, 0);
        }
        return new DescList[] {f.build(), t.build()};
    }

    private static Agent agent(final String mode)
    {
        return Agent.create(AgentConfig.builder("kernel-bench-" + mode).backend("CUDA",
            Map.of("copy_kernel", mode)).build());
    }

    private static void print(final String key, final double value)
    {
        System.out.printf("%s %.2f%n", key, value);
    }

    /** WRITE moves local block i to remote block perm(i); READ brings remote block perm(i) into local block i. */
    private static double run(final Agent agent, final TransferOp op, final DescList[] d, final String peer,
        final long bytes, final String expectRoute)
    {
        try (Transfer t = agent.createTransfer(op, d[0], d[1], peer, TransferOptions.NONE))
        {
            final double gbps = CudaBench.time(t, bytes);
            if (!java.util.Objects.equals(expectRoute, t.telemetry().route()))
            {
                throw new IllegalStateException(t + " took route " + t.telemetry().route() + ", not " + expectRoute);
            }
            return gbps;
        }
    }

    /**
     * @param args none.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final CudaDriver d = Gpu.require();
        System.out.println("gpu " + d.deviceName(0).replace(' ', '_') + " driver " + d.driverVersion());
        final long a = Gpu.alloc(0, GIB);
        final long b = Gpu.alloc(0, GIB);
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment host = arena.allocate(GIB, 4096);
            host.fill((byte)1);
            print("raw_d2d_1GiB", CudaBench.raw(d, b, a, GIB));
            print("raw_d2d_512MiB", CudaBench.raw(d, b, a, GIB / 2));
            Contexts.shared().makeCurrent(0);
            d.hostRegister(host.address(), GIB);
            print("raw_h2d_1GiB", CudaBench.raw(d, a, host.address(), GIB));
            print("raw_d2h_1GiB", CudaBench.raw(d, host.address(), a, GIB));
            Contexts.shared().makeCurrent(0);
            d.hostUnregister(host.address());
            try (CudaPeer peer = new CudaPeer("kernel-bench-peer", 0, GIB))
            {
                for (final String mode : new String[] {"always", "never"})
                {
                    final String p = "always".equals(mode) ? "k_" : "c_";
                    final String route = "always".equals(mode) ? "copy kernel" : null;
                    try (Agent agent = agent(mode))
                    {
                        agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(a, GIB, 0),
                            Region.ofAddress(b, GIB, 0)));
                        agent.register(MemoryKind.DRAM, List.of(Region.of(host)));
                        final String self = agent.name();
                        for (final TransferOp op : TransferOp.values())
                        {
                            final String o = op.name().toLowerCase(java.util.Locale.ROOT);
                            print(p + "d2d_32k_" + o, run(agent, op, blocks(MemoryKind.VRAM, a, MemoryKind.VRAM, b,
                                32_768, 32 << 10, 1), self, GIB, route));
                            print(p + "d2d_4k_" + o, run(agent, op, blocks(MemoryKind.VRAM, a, MemoryKind.VRAM, b,
                                131_072, 4 << 10, 2), self, GIB / 2, route));
                        }
                        // pinned host: VRAM block i <-> host block perm(i), as WRITEs from either side
                        print(p + "h2d_32k", run(agent, TransferOp.WRITE, blocks(MemoryKind.DRAM, host.address(),
                            MemoryKind.VRAM, a, 32_768, 32 << 10, 3), self, GIB, route));
                        print(p + "d2h_32k", run(agent, TransferOp.WRITE, blocks(MemoryKind.VRAM, a,
                            MemoryKind.DRAM, host.address(), 32_768, 32 << 10, 4), self, GIB, route));
                        // another process's VRAM through CUDA IPC
                        final String name = agent.loadRemoteMetadata(peer.metadata);
                        final long theirs = agent.peerRegions(name, MemoryKind.VRAM).address(0);
                        for (final TransferOp op : TransferOp.values())
                        {
                            print(p + "ipc_32k_" + op.name().toLowerCase(java.util.Locale.ROOT), run(agent, op,
                                blocks(MemoryKind.VRAM, a, MemoryKind.VRAM, theirs, 32_768, 32 << 10, 5), name, GIB,
                                route));
                        }
                        agent.invalidateRemote(name);
                        // one 64 B descriptor: post -> DONE
                        print(p + "lat64_us", latency(agent, a, b));
                        // where the kernel starts to win: spans x size, WRITE
                        for (final int count : new int[] {1, 2, 4, 8, 64, 512, 4096, 32_768})
                        {
                            for (final long size : new long[] {4 << 10, 64 << 10, 512 << 10, 2 << 20, 16 << 20,
                                64 << 20})
                            {
                                if (count * size <= GIB)
                                {
                                    print(p + "sweep_" + count + "x" + size, run(agent, TransferOp.WRITE,
                                        blocks(MemoryKind.VRAM, a, MemoryKind.VRAM, b, count, size, 6), self,
                                        count * size, route));
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            Gpu.free(0, a);
            Gpu.free(0, b);
        }
    }

    /** Median microseconds from post to DONE of one 64 B VRAM -> VRAM WRITE, over 5,000 posts after 2,000. */
    private static double latency(final Agent agent, final long a, final long b)
    {
        final DescList from = DescList.builder(MemoryKind.VRAM, 1).add(a, 64, 0).build();
        final DescList to = DescList.builder(MemoryKind.VRAM, 1).add(b, 64, 0).build();
        try (Transfer t = agent.createTransfer(TransferOp.WRITE, from, to, agent.name(), TransferOptions.NONE))
        {
            final double[] us = new double[5_000];
            for (int i = -2_000; i < us.length; i++)
            {
                final long start = System.nanoTime();
                t.post();
                t.await(Duration.ofSeconds(10));
                if (i >= 0)
                {
                    us[i] = (System.nanoTime() - start) / 1e3;
                }
            }
            Arrays.sort(us);
            return us[us.length / 2];
        }
    }
}
