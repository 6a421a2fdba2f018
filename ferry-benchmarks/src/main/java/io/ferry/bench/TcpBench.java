package io.ferry.bench;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

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
 * TCP loopback benchmark in two processes: {@code TcpBench run [key=value TCP params]} starts a target JVM,
 * then measures WRITE and READ bandwidth for 1-64 MiB blocks, 64 B WRITE latency (post to DONE, which includes the
 * target's acknowledgement), and 20,480 descriptors of 4 KiB in one request against one 80 MiB descriptor.
 * 1 MiB blocks are also measured with two requests in flight (each on its own 1 MiB), the way a client with many
 * blocks to move keeps the connection busy; every other case keeps one request in flight.
 * Prints one JSON object per measurement. {@code -Dferry.bench.only="READ 1"} (an op and MiB, optionally the requests
 * in flight: "READ 1 2") measures one such case; {@code -Dferry.bench.only=descriptors} only the descriptor pair,
 * three interleaved rounds. With {@code FERRY_BENCH_TARGET_CPUS} set (a {@code taskset -c} list), the target JVM
 * runs on those CPUs only ({@code bench/tcp-loopback --pinned} puts each side on a CPU of its own).
 */
public final class TcpBench
{
    private static final long REGION = 256L << 20;

    private TcpBench()
    {
    }

    /**
     * @param args {@code run [params]} or {@code target METADATA_FILE [params]}.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> params = new HashMap<>();
        params.put("listen_address", "127.0.0.1");
        for (int i = "target".equals(args[0]) ? 2 : 1; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        if ("target".equals(args[0]))
        {
            target(Path.of(args[1]), params);
        }
        else
        {
            run(params, args);
        }
    }

    private static void target(final Path md, final Map<String, String> params) throws Exception
    {
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder("bench-target").backend("TCP", params).build()))
        {
            BenchTarget.serve(md, arena, agent, REGION);
        }
    }

    private static void run(final Map<String, String> params, final String[] args) throws Exception
    {
        try (BenchTarget target = new BenchTarget(TcpBench.class, Arrays.asList(args).subList(1, args.length));
            Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder("bench-initiator").backend("TCP", params).build()))
        {
            final BenchTarget.Connected c = target.connect(agent, arena, REGION);
            final String peer = c.peer();
            final long remote = c.remote();
            final MemorySegment local = c.local();

            final String only = System.getProperty("ferry.bench.only");
            if ("descriptors".equals(only))
            {
                final Transfer[] pair = descriptorCases(agent, local, remote, peer);
                for (int round = 0; round < 3; round++)
                {
                    final double o = Rates.rate(pair[0]);
                    final double m = Rates.rate(pair[1]);
                    System.out.printf(Locale.ROOT, "one %.3f many %.3f ratio %.3f%n", o, m, m / o);
                }
                return;
            }
            if (null != only)
            {
                final String[] parts = only.split(" ");
                final long block = Long.parseLong(parts[1]) << 20;
                final int inFlight = parts.length > 2 ? Integer.parseInt(parts[2]) : 1;
                bandwidth(parts[0] + " " + parts[1] + " MiB" + (inFlight > 1 ? ", " + inFlight + " in flight" : ""),
                    blocks(agent, TransferOp.parse(parts[0]), local, remote, peer, block, inFlight));
                return;
            }
            for (final TransferOp op : TransferOp.values())
            {
                for (final long block : new long[] {1L << 20, 4L << 20, 16L << 20, 64L << 20})
                {
                    bandwidth(op + " " + (block >> 20) + " MiB", blocks(agent, op, local, remote, peer, block, 1));
                }
                bandwidth(op + " 1 MiB, 2 in flight", blocks(agent, op, local, remote, peer, 1L << 20, 2));
            }

            final Transfer small = agent.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 64)),
                DescList.builder(MemoryKind.DRAM).add(remote, 64).build(), peer, TransferOptions.NONE);
            final int n = 20_000;
            final long[] lat = Rates.latencies(small, n);
            System.out.printf(Locale.ROOT, "{\"kind\":\"latency\",\"case\":\"WRITE 64 B\",\"p50_us\":%.2f,\"p99_us\":%.2f}%n",
                lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3);

            final Transfer[] pair = descriptorCases(agent, local, remote, peer);
            final Transfer one = pair[0];
            final Transfer many = pair[1];
            // interleaved rounds, so that drifting machine load hits both cases alike
            final List<Double> oneRate = new ArrayList<>();
            final List<Double> manyRate = new ArrayList<>();
            for (int round = 0; round < 5; round++)
            {
                oneRate.add(Rates.rate(one));
                manyRate.add(Rates.rate(many));
            }
            System.out.printf(Locale.ROOT, "{\"kind\":\"descriptors\",\"case\":\"WRITE 1 x 80 MiB\",\"GBps\":%.3f}%n",
                Rates.median(oneRate));
            System.out.printf(Locale.ROOT,
                "{\"kind\":\"descriptors\",\"case\":\"WRITE 20480 x 4 KiB\",\"GBps\":%.3f}%n", Rates.median(manyRate));
        }
    }

    /** @return one WRITE of 80 MiB in one descriptor and the same bytes as 20,480 descriptors of 4 KiB. */
    private static Transfer[] descriptorCases(final Agent agent, final MemorySegment local, final long remote,
        final String peer)
    {
        final int descs = 20_480;
        final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, descs);
        final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, descs);
        for (int i = 0; i < descs; i++)
        {
            lb.add(local.address() + (long)i * 4096, 4096);
            rb.add(remote + (long)(descs - 1 - i) * 4096, 4096);
        }
        final Transfer many = agent.createTransfer(TransferOp.WRITE, lb.build(), rb.build(), peer,
            TransferOptions.NONE);
        final Transfer one = agent.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 80L << 20)),
            DescList.builder(MemoryKind.DRAM).add(remote, 80L << 20).build(), peer, TransferOptions.NONE);
        return new Transfer[] {one, many};
    }

    /** @return {@code count} transfers of one block each, side by side in both regions. */
    private static Transfer[] blocks(final Agent agent, final TransferOp op, final MemorySegment local,
        final long remote, final String peer, final long block, final int count)
    {
        final Transfer[] ts = new Transfer[count];
        for (int i = 0; i < count; i++)
        {
            ts[i] = agent.createTransfer(op, DescList.dram(local.asSlice(i * block, block)),
                DescList.builder(MemoryKind.DRAM).add(remote + i * block, block).build(), peer, TransferOptions.NONE);
        }
        return ts;
    }

    private static void bandwidth(final String name, final Transfer... ts)
    {
        System.out.printf(Locale.ROOT, "{\"kind\":\"bandwidth\",\"case\":\"%s\",\"GBps\":%.3f}%n", name, Rates.rate(ts));
    }
}
