package io.ferry.bench;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.shm.ShmArena;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A two-process benchmark of one backend on this host: {@code PairBench run BACKEND MEMORY [key=value params]}
 * starts a target JVM with the same backend and parameters, then measures WRITE and READ bandwidth at 32 KiB, 1 MiB and 64 MiB, 64 B WRITE latency (post to DONE), 4,096
 * scattered 32 KiB descriptors in one request against one 128 MiB descriptor, and, as the anchor the copies cannot
 * beat, a single-thread {@code MemorySegment.copy} of each size in this process. MEMORY is {@code shm} (both sides
 * allocate from a ShmArena: the initiator maps the target's memory file and copies) or {@code plain} (ordinary
 * memory: cross-memory attach; any backend). Prints one JSON object per measurement, its "mechanism" naming the
 * road: "mapped" or "cma" for SHM, else the backend and its UCX_TLS, e.g. "ucx-tcp".
 */
public final class PairBench
{
    private static final long REGION = 256L << 20;
    private static final long[] SIZES = {32L << 10, 1L << 20, 64L << 20};
    /** Transfers kept in flight at once in the windowed bandwidth cases. */
    private static final int IN_FLIGHT = 8;

    private PairBench()
    {
    }

    /**
     * @param args {@code run BACKEND MEMORY [params]} or {@code target METADATA_FILE BACKEND MEMORY [params]}.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final boolean target = "target".equals(args[0]);
        final int first = target ? 2 : 1;
        final String backend = args[first];
        final String memory = args[first + 1];
        final Map<String, String> params = new HashMap<>();
        for (int i = first + 2; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        if (target)
        {
            target(Path.of(args[1]), backend, memory, params);
        }
        else
        {
            run(backend, memory, params, args);
        }
    }

    private static Arena arena(final String memory)
    {
        return "shm".equals(memory) ? ShmArena.open() : Arena.ofShared();
    }

    private static void target(final Path md, final String backend, final String memory,
        final Map<String, String> params) throws Exception
    {
        try (Arena arena = arena(memory);
            Agent agent = Agent.create(AgentConfig.builder("pair-bench-target").backend(backend, params).build()))
        {
            BenchTarget.serve(md, arena, agent, REGION);
        }
    }

    private static void run(final String backend, final String memory, final Map<String, String> params,
        final String[] args) throws Exception
    {
        final List<String> targetArgs = new ArrayList<>(Arrays.asList(args).subList(1, args.length));
        try (BenchTarget target = new BenchTarget(PairBench.class, targetArgs);
            Arena arena = arena(memory);
            Agent agent = Agent.create(AgentConfig.builder("pair-bench-initiator").backend(backend, params).build()))
        {
            final BenchTarget.Connected c = target.connect(agent, arena, REGION);
            final String peer = c.peer();
            final long remote = c.remote();
            final MemorySegment local = c.local();
            final String tag = "SHM".equals(backend) ? ("shm".equals(memory) ? "mapped" : "cma") :
                backend.toLowerCase(Locale.ROOT) + (params.containsKey("UCX_TLS") ? "-" + params.get("UCX_TLS") : "");

            if (Boolean.getBoolean("ferry.bench.latencyOnly"))
            {
                latency(agent, tag, local, remote, peer);
                return;
            }
            for (final long size : SIZES)
            {
                print("memcpy", "copy " + label(size), copyRate(local, size));
            }
            for (final TransferOp op : TransferOp.values())
            {
                for (final long size : SIZES)
                {
                    print(tag, op + " " + label(size), Rates.rate(agent.createTransfer(op, DescList.dram(
                        local.asSlice(0, size)), DescList.builder(MemoryKind.DRAM).add(remote, size).build(), peer,
                        TransferOptions.NONE)));
                    if (size <= 1 << 20)
                    {
                        // IN_FLIGHT transfers at once, each reposted when it ends: the like of ucx_perftest's
                        // bandwidth tests, which keep a window of operations outstanding
                        final Transfer[] window = new Transfer[IN_FLIGHT];
                        for (int i = 0; i < IN_FLIGHT; i++)
                        {
                            window[i] = agent.createTransfer(op, DescList.dram(local.asSlice(i * size, size)),
                                DescList.builder(MemoryKind.DRAM).add(remote + i * size, size).build(), peer,
                                TransferOptions.NONE);
                        }
                        print(tag, op + " " + label(size) + " x" + IN_FLIGHT, Rates.rate(window));
                    }
                }
            }
            for (final TransferOp op : TransferOp.values())
            {
                final Transfer one = agent.createTransfer(op, DescList.dram(local.asSlice(0, 128L << 20)),
                    DescList.builder(MemoryKind.DRAM).add(remote, 128L << 20).build(), peer, TransferOptions.NONE);
                final int n = 4096;
                final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, n);
                final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, n);
                for (int i = 0; i < n; i++)
                {
                    lb.add(local.address() + (long)i * (32 << 10), 32 << 10);
                    rb.add(remote + (long)(n - 1 - i) * (32 << 10), 32 << 10); // scattered: no two spans merge
                }
                final Transfer many = agent.createTransfer(op, lb.build(), rb.build(), peer, TransferOptions.NONE);
                final List<Double> oneRate = new ArrayList<>();
                final List<Double> manyRate = new ArrayList<>();
                for (int round = 0; round < 3; round++)
                {
                    oneRate.add(Rates.rate(one));
                    manyRate.add(Rates.rate(many));
                }
                print(tag, op + " 1 x 128 MiB", Rates.median(oneRate));
                print(tag, op + " 4096 x 32 KiB", Rates.median(manyRate));
            }
            latency(agent, tag, local, remote, peer);
        }
    }

    /** 64 B WRITE, post to DONE, 200,000 times (FERRY_BENCH_LATENCY_N to change): p50 and p99. */
    private static void latency(final Agent agent, final String tag, final MemorySegment local, final long remote,
        final String peer)
    {
            final Transfer small = agent.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 64)),
            DescList.builder(MemoryKind.DRAM).add(remote, 64).build(), peer, TransferOptions.NONE);
        final int n = Integer.getInteger("ferry.bench.latencyN", 200_000);
        final long[] lat = Rates.latencies(small, n);
        System.out.printf(Locale.ROOT, "{\"kind\":\"latency\",\"mechanism\":\"%s\",\"case\":\"WRITE 64 B\"," +
            "\"p50_us\":%.3f,\"p99_us\":%.3f}%n", tag, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3);
    }

    private static String label(final long size)
    {
        return size >= 1 << 20 ? (size >> 20) + " MiB" : (size >> 10) + " KiB";
    }

    private static void print(final String mechanism, final String name, final double gbps)
    {
        System.out.printf(Locale.ROOT, "{\"kind\":\"bandwidth\",\"mechanism\":\"%s\",\"case\":\"%s\",\"GBps\":%.3f}%n",
            mechanism, name, gbps);
        System.out.flush();
    }

    /** @return GB/s of one thread copying {@code size} bytes between two halves of the region, for two seconds. */
    private static double copyRate(final MemorySegment region, final long size)
    {
        final MemorySegment src = region.asSlice(0, size);
        final MemorySegment dst = region.asSlice(REGION / 2, size);
        final long warmEnd = System.nanoTime() + 500_000_000L;
        while (System.nanoTime() - warmEnd < 0)
        {
            MemorySegment.copy(src, 0, dst, 0, size);
        }
        long bytes = 0;
        final long start = System.nanoTime();
        long now;
        do
        {
            MemorySegment.copy(src, 0, dst, 0, size);
            bytes += size;
            now = System.nanoTime();
        }
        while (now - start < 2_000_000_000L);
        return bytes / ((now - start) / 1e9) / 1e9;
    }
}
