package io.ferry.cli;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.PreparedList;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.metrics.FerryMetrics;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code ferry bench}: nixlbench's sweep in one process — block sizes (powers of two) × batch sizes, iterations
 * after a warm-up, threads, prepared or one-call requests, a notification on every transfer, and nixlbench's
 * columns (GB/s, average latency, average and p99 of prep, post and transfer). Two-process roles, the other
 * schemes and plots are still to come.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "nixlbench's block-size x batch sweep between two agents in this process.")
final class BenchCommand implements Callable<Integer>
{
    @Option(names = "--backend", defaultValue = "LOCAL",
        description = "LOCAL, TCP or CUDA (default ${DEFAULT-VALUE}; VRAM needs TCP or CUDA).")
    String backend;

    @Option(names = "--op-type", defaultValue = "WRITE", description = "READ or WRITE (default ${DEFAULT-VALUE}).")
    String opType;

    @Option(names = "--initiator-seg-type", defaultValue = "DRAM",
        description = "DRAM or VRAM (GPU 0; default ${DEFAULT-VALUE}).")
    String initiatorSegType;

    @Option(names = "--target-seg-type", defaultValue = "DRAM",
        description = "DRAM or VRAM (GPU 0; default ${DEFAULT-VALUE}).")
    String targetSegType;

    @Option(names = "--start-block-size", defaultValue = "4096", description = "bytes (default ${DEFAULT-VALUE}).")
    long startBlock;

    @Option(names = "--max-block-size", defaultValue = "67108864", description = "bytes (default ${DEFAULT-VALUE}).")
    long maxBlock;

    @Option(names = "--start-batch-size", defaultValue = "1", description = "descriptors (default ${DEFAULT-VALUE}).")
    int startBatch;

    @Option(names = "--max-batch-size", defaultValue = "1", description = "descriptors (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--num-iter", defaultValue = "1000",
        description = "iterations per point, fewer for large blocks (default ${DEFAULT-VALUE}).")
    int numIter;

    @Option(names = "--warmup-iter", defaultValue = "100", description = "warm-up iterations (default ${DEFAULT-VALUE}).")
    int warmupIter;

    @Option(names = "--num-threads", defaultValue = "1", description = "initiator threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--scheme", defaultValue = "pairwise", description = "pairwise (default).")
    String scheme;

    @Option(names = "--request", defaultValue = "prepared",
        description = "prepared (prepare once, make by index) or one-call (createTransfer each time).")
    String request;

    @Option(names = "--check-consistency", description = "verify every byte of every point.")
    boolean check;

    @Option(names = "--json", description = "write the results as JSON to this file.")
    Path json;

    @Option(names = "--csv", description = "write the results as CSV to this file.")
    Path csv;

    @Option(names = "--metrics-port", defaultValue = "-1",
        description = "serve Prometheus metrics on this port during the run (0: any).")
    int metricsPort;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * One point of the sweep.
     *
     * @param block  block size.
     * @param batch  descriptors per transfer.
     * @param gbps   bandwidth.
     * @param avgLat average time per transfer (us).
     * @param prep   average and p99 of making the request (us).
     * @param post   average and p99 of post (us).
     * @param xfer   average and p99 of post to completion (us).
     * @param ok     consistency (true when not checked).
     */
    record Point(long block, int batch, double gbps, double avgLat, double[] prep, double[] post, double[] xfer,
        boolean ok)
    {
    }

    public Integer call() throws Exception
    {
        validate();
        final PrintWriter out = spec.commandLine().getOut();
        final TransferOp op = TransferOp.parse(opType);
        final long regionBytes = maxBlock * maxBatch;
        final List<Point> points = new ArrayList<>();
        try (FerryMetrics metrics = new FerryMetrics();
            Arena arena = Arena.ofShared();
            Closer memory = new Closer();
            Agent initiator = Agent.create(config("bench-initiator", metrics));
            Agent target = Agent.create(config("bench-target", metrics)))
        {
            metrics.watch(initiator).watch(target);
            if (metricsPort >= 0)
            {
                out.println("metrics on http://127.0.0.1:" + metrics.serve(metricsPort) + "/metrics");
            }
            final BenchMemory[] src = new BenchMemory[threads];
            final BenchMemory[] dst = new BenchMemory[threads];
            for (int t = 0; t < threads; t++)
            {
                src[t] = memory.add(BenchMemory.allocate(BenchMemory.kindOf(initiatorSegType), regionBytes, arena));
                dst[t] = memory.add(BenchMemory.allocate(BenchMemory.kindOf(targetSegType), regionBytes, arena));
                initiator.register(src[t].kind(), List.of(src[t].region()));
                target.register(dst[t].kind(), List.of(dst[t].region()));
            }
            final String peer = initiator.loadRemoteMetadata(target.localMetadata());
            out.printf(Locale.ROOT, "%-10s %-6s %-8s %-10s %-9s %-9s %-9s %-9s %-9s %-9s %s%n", "block", "batch",
                "GB/s", "avg_lat", "prep", "prep_p99", "post", "post_p99", "xfer", "xfer_p99",
                check ? "check" : "");
            for (long block = startBlock; block <= maxBlock; block <<= 1)
            {
                for (int batch = startBatch; batch <= maxBatch; batch <<= 1)
                {
                    final Point p = point(initiator, target, peer, op, src, dst, block, batch);
                    points.add(p);
                    out.printf(Locale.ROOT, "%-10s %-6d %-8.3f %-10.2f %-9.2f %-9.2f %-9.2f %-9.2f %-9.2f %-9.2f %s%n",
                        DemoCommand.human(block), batch, p.gbps(), p.avgLat(), p.prep()[0], p.prep()[1], p.post()[0],
                        p.post()[1], p.xfer()[0], p.xfer()[1], check ? (p.ok() ? "ok" : "MISMATCH") : "");
                    out.flush();
                }
            }
        }
        write(points);
        return points.stream().allMatch(Point::ok) ? 0 : 1;
    }

    private Point point(final Agent initiator, final Agent target, final String peer, final TransferOp op,
        final BenchMemory[] src, final BenchMemory[] dst, final long block, final int batch) throws Exception
    {
        final int iterations = (int)Math.max(10, Math.min(numIter, (4L << 30) / (block * batch)));
        final int warmup = Math.min(warmupIter, Math.max(1, iterations / 10));
        final Histogram prep = new Histogram(3);
        final Histogram post = new Histogram(3);
        final Histogram xfer = new Histogram(3);
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        final boolean[] ok = {true};
        final java.util.concurrent.atomic.AtomicLong start = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        final java.util.concurrent.atomic.AtomicLong end = new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);
        try
        {
            final List<Callable<Void>> jobs = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                jobs.add(() ->
                {
                    final BenchMemory from = TransferOp.WRITE == op ? src[id] : dst[id];
                    for (long off = 0; off + 8 <= block * batch; off += 8)
                    {
                        from.host().set(ValueLayout.JAVA_LONG_UNALIGNED, off, off ^ block ^ ((long)batch << 40));
                    }
                    from.upload();
                    final DescList l = descs(src[id], block, batch, false);
                    final DescList r = descs(dst[id], block, batch, true);
                    final PreparedList lp = initiator.prepare(l);
                    final PreparedList rp = initiator.prepare(peer, r);
                    final int[] idx = new int[batch];
                    for (int i = 0; i < batch; i++)
                    {
                        idx[i] = i;
                    }
                    final byte[] note = ("bench-" + id).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    for (int i = 0; i < warmup + iterations; i++)
                    {
                        final long t0 = System.nanoTime();
                        if (i == warmup)
                        {
                            start.accumulateAndGet(t0, Math::min);
                        }
                        final Transfer x = "one-call".equals(request) ?
                            initiator.createTransfer(op, l, r, peer, TransferOptions.notify(note)) :
                            initiator.transfer(op, lp, idx, rp, idx, TransferOptions.notify(note));
                        final long t1 = System.nanoTime();
                        x.post();
                        final long t2 = System.nanoTime();
                        x.await(Duration.ofSeconds(60));
                        final long t3 = System.nanoTime();
                        if (i >= warmup)
                        {
                            synchronized (prep)
                            {
                                prep.recordValue(t1 - t0);
                                post.recordValue(t2 - t1);
                                xfer.recordValue(t3 - t1);
                            }
                        }
                    }
                    end.accumulateAndGet(System.nanoTime(), Math::max);
                    if (check)
                    {
                        final MemorySegment a = src[id].contents();
                        final MemorySegment b = dst[id].contents();
                        for (int i = 0; i < batch; i++)
                        {
                            final long so = i * block;
                            final long d0 = (long)(batch - 1 - i) * block;
                            if (-1 != MemorySegment.mismatch(a, so, so + block, b, d0, d0 + block))
                            {
                                synchronized (ok)
                                {
                                    ok[0] = false;
                                }
                            }
                        }
                    }
                    return null;
                });
            }
            for (final Future<Void> f : pool.invokeAll(jobs))
            {
                f.get();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
        target.pollNotifications();
        final long moved = (long)threads * iterations * block * batch;
        final long nanos = Math.max(1, end.get() - start.get());
        return new Point(block, batch, moved / (nanos / 1e9) / 1e9, nanos / 1e3 / iterations, stats(prep), stats(post),
            stats(xfer), ok[0]);
    }

    private static DescList descs(final BenchMemory seg, final long block, final int batch, final boolean reversed)
    {
        final DescList.Builder b = DescList.builder(seg.kind(), batch);
        for (int i = 0; i < batch; i++)
        {
            b.add(seg.address() + (reversed ? (long)(batch - 1 - i) : i) * block, block, 0);
        }
        return b.build();
    }

    private static double[] stats(final Histogram h)
    {
        return new double[] {h.getMean() / 1e3, h.getValueAtPercentile(99) / 1e3};
    }

    private AgentConfig config(final String name, final FerryMetrics metrics)
    {
        final AgentConfig.Builder b = CliAgents.config(name, backend);
        if (metricsPort >= 0)
        {
            b.observer(metrics); // only when asked for: observing costs time on every transfer
        }
        return b.build();
    }

    private void validate()
    {
        final List<String> problems = new ArrayList<>();
        if (!"LOCAL".equals(backend) && !"TCP".equals(backend) && !"CUDA".equals(backend))
        {
            problems.add("--backend must be LOCAL, TCP or CUDA, got '" + backend + "'");
        }
        if (!"READ".equalsIgnoreCase(opType) && !"WRITE".equalsIgnoreCase(opType))
        {
            problems.add("--op-type must be READ or WRITE, got '" + opType + "'");
        }
        final String segProblem = BenchMemory.problem(initiatorSegType, targetSegType);
        if (null != segProblem)
        {
            problems.add(segProblem);
        }
        else if ("LOCAL".equals(backend) && (MemoryKind.VRAM == BenchMemory.kindOf(initiatorSegType) ||
            MemoryKind.VRAM == BenchMemory.kindOf(targetSegType)))
        {
            problems.add("the LOCAL backend moves DRAM only; use --backend CUDA or TCP for VRAM");
        }
        if (startBlock < 1 || maxBlock < startBlock || Long.bitCount(startBlock) != 1)
        {
            problems.add("--start-block-size must be a power of two no larger than --max-block-size");
        }
        if (startBatch < 1 || maxBatch < startBatch || maxBlock * maxBatch > (8L << 30))
        {
            problems.add("--start-batch-size must be >= 1, <= --max-batch-size, and block x batch at most 8 GiB");
        }
        if (numIter < 1 || warmupIter < 0 || threads < 1 || threads > 64)
        {
            problems.add("--num-iter >= 1, --warmup-iter >= 0 and --num-threads within [1, 64] please");
        }
        if (!"pairwise".equals(scheme))
        {
            problems.add("--scheme " + scheme + " is not supported yet (pairwise)");
        }
        if (!"prepared".equals(request) && !"one-call".equals(request))
        {
            problems.add("--request must be prepared or one-call");
        }
        if (!problems.isEmpty())
        {
            throw new CommandLine.ParameterException(spec.commandLine(), String.join("; ", problems));
        }
    }

    private void write(final List<Point> points) throws IOException
    {
        if (null != json)
        {
            final StringBuilder sb = new StringBuilder("{\"backend\":\"" + backend + "\",\"op\":\"" + opType +
                "\",\"threads\":" + threads + ",\"request\":\"" + request + "\",\"points\":[");
            for (int i = 0; i < points.size(); i++)
            {
                final Point p = points.get(i);
                sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT,
                    "{\"block_size\":%d,\"batch_size\":%d,\"gb_per_s\":%.4f,\"avg_lat_us\":%.3f,\"avg_prep_us\":%.3f," +
                    "\"p99_prep_us\":%.3f,\"avg_post_us\":%.3f,\"p99_post_us\":%.3f,\"avg_tx_us\":%.3f," +
                    "\"p99_tx_us\":%.3f,\"consistent\":%s}", p.block(), p.batch(), p.gbps(), p.avgLat(), p.prep()[0],
                    p.prep()[1], p.post()[0], p.post()[1], p.xfer()[0], p.xfer()[1], p.ok()));
            }
            Files.writeString(json, sb.append("]}\n").toString());
        }
        if (null != csv)
        {
            final StringBuilder sb = new StringBuilder("block_size,batch_size,gb_per_s,avg_lat_us,avg_prep_us," +
                "p99_prep_us,avg_post_us,p99_post_us,avg_tx_us,p99_tx_us,consistent\n");
            for (final Point p : points)
            {
                sb.append(String.format(Locale.ROOT, "%d,%d,%.4f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%s%n", p.block(),
                    p.batch(), p.gbps(), p.avgLat(), p.prep()[0], p.prep()[1], p.post()[0], p.post()[1], p.xfer()[0],
                    p.xfer()[1], p.ok()));
            }
            Files.writeString(csv, sb.toString());
        }
    }
}
