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
 * {@code ferry bench}: nixlbench's sweep — block sizes (powers of two) × batch sizes, iterations after a warm-up,
 * threads, schemes (pairwise, one-to-many, many-to-one), prepared or one-call requests, a notification on every
 * transfer, and nixlbench's columns (GB/s, average latency, average and p99 of prep, post and transfer). Runs both
 * sides in this process, or one side per process ({@code --role target} / {@code --role initiator}, meeting by
 * host:port or etcd). Results as a table, JSON, CSV and a PNG plot.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"nixlbench's block-size x batch sweep.",
        "Both sides in this process by default; --role target and --role initiator run one side each (two processes " +
            "or hosts, meeting by --target HOST:PORT or --etcd URL)."})
final class BenchCommand implements Callable<Integer>
{
    @Option(names = "--backend", defaultValue = "LOCAL",
        description = "LOCAL, SHM, UCX, TCP, CUDA or FILE (default ${DEFAULT-VALUE}; VRAM needs TCP or CUDA; SHM and " +
            "TCP between two processes with --role; FILE with --target-seg-type FILE --filepath PATH).")
    String backend;

    @Option(names = "--filepath", paramLabel = "PATH",
        description = "with --backend FILE: the file the target side is (made when missing; each thread has its " +
            "own span of it).")
    Path filepath;

    @Option(names = "--shm-arena", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "with --backend SHM: DRAM from a ShmArena, which the peer maps once (default); " +
            "--no-shm-arena: ordinary memory, which the peer reaches by cross-memory attach.")
    boolean shmArena;

    @Option(names = "--op-type", defaultValue = "WRITE", description = "READ or WRITE (default ${DEFAULT-VALUE}).")
    String opType;

    @Option(names = "--initiator-seg-type", defaultValue = "DRAM",
        description = "DRAM or VRAM (GPU 0; default ${DEFAULT-VALUE}).")
    String initiatorSegType;

    @Option(names = "--target-seg-type", defaultValue = "DRAM",
        description = "DRAM, VRAM (GPU 0) or FILE (with --backend FILE) (default ${DEFAULT-VALUE}).")
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

    @Option(names = "--scheme", defaultValue = "pairwise",
        description = "pairwise (one initiator, one target), one-to-many (one initiator, a target per thread) or " +
            "many-to-one (an initiator per thread, one target) (default ${DEFAULT-VALUE}; one process only).")
    String scheme;

    @Option(names = "--role", defaultValue = "both",
        description = "both (this process runs both sides), target or initiator (default ${DEFAULT-VALUE}).")
    String role;

    @Option(names = "--target", paramLabel = "HOST:PORT",
        description = "initiator role: the target's metadata address (it prints it).")
    String targetAddress;

    @Option(names = "--listen-port", defaultValue = "0",
        description = "target role: metadata port (default ${DEFAULT-VALUE}: any free port).")
    int listenPort;

    @Option(names = "--etcd", paramLabel = "URL", description = "roles meet through etcd at URL.")
    String etcd;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
        description = "target role: the most to wait for the initiator to finish (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--backend-param", paramLabel = "KEY=VALUE",
        description = "a backend parameter, repeatable (e.g. paths=1, local_addresses=10.0.1.1, " +
            "congestion_control=fixed); see the README's TCP table.")
    java.util.Map<String, String> backendParams = new java.util.LinkedHashMap<>();

    @Option(names = "--plot", paramLabel = "FILE.png",
        description = "draw bandwidth and p99 latency against block size into a PNG.")
    Path plot;

    @Option(names = "--progress", description = "show a progress bar on stderr (default: when stderr is a terminal).")
    boolean progress;

    @Option(names = "--request", defaultValue = "prepared",
        description = "prepared (prepare once, make by index) or one-call (createTransfer each time).")
    String request;

    @Option(names = "--check-consistency", description = "verify every byte of every point.")
    boolean check;

    @Option(names = "--path-stats", description = "after the run, print each initiator connection's state: " +
        "window, RTT, bytes carried, delivery rate (backends with paths, e.g. TCP).")
    boolean pathStats;

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
     * @param xfer   average, p99 and p50 of post to completion (us).
     * @param iterations timed transfers per thread.
     * @param ok     consistency (true when not checked).
     */
    record Point(long block, int batch, double gbps, double avgLat, double[] prep, double[] post, double[] xfer,
        int iterations, boolean ok)
    {
    }

    static final String TARGET_NAME = "bench-target";
    static final String DONE = "ferry-bench-done";

    /**
     * One initiator thread's work: the agent it posts on, its memory, and the target memory it moves to or from.
     *
     * @param initiator  the posting agent.
     * @param local      its memory.
     * @param peer       the target agent's name.
     * @param remoteBase where the lane's span starts in the target.
     * @param remoteKind the target memory's kind.
     * @param remoteSeed for a target in another process: the pattern seed it filled the span with; else -1.
     * @param target     for a target in this process: its memory (checked directly); else null.
     */
    record Lane(Agent initiator, BenchMemory local, String peer, long remoteBase, MemoryKind remoteKind,
        long remoteSeed, BenchMemory target)
    {
    }

    public Integer call() throws Exception
    {
        validate();
        return switch (role)
        {
            case "target" -> runTarget();
            case "initiator" -> runInitiator();
            default -> "FILE".equals(backend) ? runFile() : runBoth();
        };
    }

    private int runBoth() throws Exception
    {
        final long regionBytes = maxBlock * maxBatch;
        final int initiators = "many-to-one".equals(scheme) ? threads : 1;
        final int targets = "one-to-many".equals(scheme) ? threads : 1;
        try (FerryMetrics metrics = new FerryMetrics();
            Arena arena = hostArena();
            Closer closer = new Closer())
        {
            final List<Agent> is = new ArrayList<>();
            final List<Agent> ts = new ArrayList<>();
            for (int i = 0; i < initiators; i++)
            {
                is.add(closer.add(Agent.create(config("bench-initiator" + (1 == initiators ? "" : "-" + i), metrics,
                    -1))));
            }
            for (int i = 0; i < targets; i++)
            {
                ts.add(closer.add(Agent.create(config("bench-target" + (1 == targets ? "" : "-" + i), metrics, -1))));
            }
            is.forEach(metrics::watch);
            ts.forEach(metrics::watch);
            serveMetrics(metrics);
            final List<Lane> lanes = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final Agent initiator = is.get(t % initiators);
                final Agent target = ts.get(t % targets);
                final BenchMemory src = closer.add(BenchMemory.allocate(BenchMemory.kindOf(initiatorSegType),
                    regionBytes, arena));
                final BenchMemory dst = closer.add(BenchMemory.allocate(BenchMemory.kindOf(targetSegType),
                    regionBytes, arena));
                initiator.register(src.kind(), List.of(src.region()));
                target.register(dst.kind(), List.of(dst.region()));
                lanes.add(new Lane(initiator, src, null, dst.address(), dst.kind(), -1, dst));
            }
            final List<Lane> loaded = new ArrayList<>();
            for (final Lane l : lanes)
            {
                final Agent target = ts.get(loaded.size() % targets);
                final String peer = l.initiator().loadRemoteMetadata(target.localMetadata());
                loaded.add(new Lane(l.initiator(), l.local(), peer, l.remoteBase(), l.remoteKind(), -1, l.target()));
            }
            return sweep(loaded, ts);
        }
    }

    /**
     * nixlbench's storage mode: one agent, its memory and its own file, READ = file to memory, WRITE = memory to
     * file. Each thread's span of the file first holds the pattern READs are checked against.
     */
    private int runFile() throws Exception
    {
        final long regionBytes = maxBlock * maxBatch;
        try (FerryMetrics metrics = new FerryMetrics();
            Arena arena = Arena.ofShared();
            Closer closer = new Closer())
        {
            final Agent agent = closer.add(Agent.create(config("bench-initiator", metrics, -1)));
            metrics.watch(agent);
            serveMetrics(metrics);
            agent.register(MemoryKind.FILE, List.of(io.ferry.file.FileRegions.of(filepath, 0,
                io.ferry.file.FileRegions.FileAccess.CREATE)));
            final List<Lane> lanes = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final BenchMemory src = closer.add(BenchMemory.allocate(MemoryKind.DRAM, regionBytes, arena));
                agent.register(src.kind(), List.of(src.region()));
                KvPattern.fill(src.host(), t);
                final Transfer fill = agent.createTransfer(TransferOp.WRITE, DescList.dram(src.host()),
                    DescList.builder(MemoryKind.FILE).add(t * regionBytes, regionBytes, 0).build(), agent.name(),
                    TransferOptions.NONE);
                fill.post();
                fill.await(Duration.ofSeconds(timeoutSeconds));
                lanes.add(new Lane(agent, src, agent.name(), t * regionBytes, MemoryKind.FILE, t, null));
            }
            return sweep(lanes, List.of(agent));
        }
    }

    private int runTarget() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final long regionBytes = maxBlock * maxBatch;
        try (FerryMetrics metrics = new FerryMetrics();
            Arena arena = hostArena();
            Closer closer = new Closer();
            Agent target = Agent.create(config(TARGET_NAME, metrics, listenPort));
            io.ferry.etcd.EtcdMetadata md = null == etcd ? null :
                io.ferry.etcd.EtcdMetadata.builder(target).endpoints(etcd).build())
        {
            metrics.watch(target);
            serveMetrics(metrics);
            for (int t = 0; t < threads; t++)
            {
                final BenchMemory m = closer.add(BenchMemory.allocate(BenchMemory.kindOf(targetSegType), regionBytes,
                    arena));
                KvPattern.fill(m.host(), t);
                m.upload();
                target.register(m.kind(), List.of(m.region()));
            }
            if (null != md)
            {
                md.publish();
            }
            out.printf(Locale.ROOT, "%s ready: %d region(s) of %s %s, metadata on port %d%s%n", target.name(),
                threads, DemoCommand.human(regionBytes), BenchMemory.kindOf(targetSegType),
                target.metadataAddress().orElseThrow().getPort(), null == md ? "" : " and in etcd at " + etcd);
            out.flush();
            long served = 0;
            final long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
            while (System.nanoTime() < deadline)
            {
                final io.ferry.Notification n;
                try
                {
                    n = target.awaitNotification(Duration.ofMillis(200));
                }
                catch (final io.ferry.FerryException ex)
                {
                    continue;
                }
                if (DONE.equals(n.payloadAsString()))
                {
                    out.printf(Locale.ROOT, "%s: %s finished after %,d transfers with a notification%n", target.name(),
                        n.sender(), served);
                    out.flush();
                    return 0;
                }
                served++;
            }
            out.println(target.name() + ": no initiator finished within " + timeoutSeconds + " s");
            return 1;
        }
    }

    private int runInitiator() throws Exception
    {
        final Duration wait = Duration.ofSeconds(60);
        try (FerryMetrics metrics = new FerryMetrics();
            Arena arena = hostArena();
            Closer closer = new Closer();
            Agent initiator = Agent.create(config("bench-initiator", metrics, -1));
            io.ferry.etcd.EtcdMetadata md = null == etcd ? null :
                io.ferry.etcd.EtcdMetadata.builder(initiator).endpoints(etcd).build())
        {
            metrics.watch(initiator);
            serveMetrics(metrics);
            final String peer;
            if (null != md)
            {
                peer = md.fetch(TARGET_NAME).get(wait.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
            }
            else
            {
                final int colon = targetAddress.lastIndexOf(':');
                peer = initiator.fetchMetadata(targetAddress.substring(0, colon),
                    Integer.parseInt(targetAddress.substring(colon + 1))).get(wait.toSeconds(),
                    java.util.concurrent.TimeUnit.SECONDS);
            }
            final MemoryKind remoteKind = BenchMemory.kindOf(targetSegType);
            final DescList regions = initiator.peerRegions(peer, remoteKind);
            final long regionBytes = maxBlock * maxBatch;
            if (regions.size() < threads)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), peer + " publishes " + regions.size() +
                    " " + remoteKind + " region(s) but --num-threads is " + threads + "; start both sides with the " +
                    "same --num-threads and --target-seg-type");
            }
            final List<Lane> lanes = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                if (regions.length(t) < regionBytes)
                {
                    throw new CommandLine.ParameterException(spec.commandLine(), peer + "'s region " + t + " is " +
                        regions.length(t) + " B, less than --max-block-size x --max-batch-size = " + regionBytes +
                        " B; start both sides with the same sizes");
                }
                final BenchMemory src = closer.add(BenchMemory.allocate(BenchMemory.kindOf(initiatorSegType),
                    regionBytes, arena));
                initiator.register(src.kind(), List.of(src.region()));
                lanes.add(new Lane(initiator, src, peer, regions.address(t), remoteKind, t, null));
            }
            final int exit = sweep(lanes, List.of());
            // "done" rides on a small READ, whose completion means the target has it (a standalone notification
            // could still be queued when this process exits)
            final Lane first = lanes.getFirst();
            final Transfer done = initiator.createTransfer(TransferOp.READ,
                descs(first.local().kind(), first.local().address(), 8, 1, false),
                descs(remoteKind, first.remoteBase(), 8, 1, false), peer,
                TransferOptions.notify(DONE.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            done.post();
            done.await(wait);
            return exit;
        }
    }

    private void serveMetrics(final FerryMetrics metrics) throws IOException
    {
        if (metricsPort >= 0)
        {
            spec.commandLine().getOut().println("metrics on http://127.0.0.1:" + metrics.serve(metricsPort) +
                "/metrics");
        }
    }

    private int sweep(final List<Lane> lanes, final List<Agent> targets) throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final TransferOp op = TransferOp.parse(opType);
        final List<Point> points = new ArrayList<>();
        out.printf(Locale.ROOT, "%-10s %-6s %-8s %-10s %-9s %-9s %-9s %-9s %-9s %-9s %s%n", "block", "batch",
            "GB/s", "avg_lat", "prep", "prep_p99", "post", "post_p99", "xfer", "xfer_p99", check ? "check" : "");
        final int total = Long.numberOfTrailingZeros(maxBlock) - Long.numberOfTrailingZeros(startBlock) + 1;
        final int batches = Integer.numberOfTrailingZeros(Integer.highestOneBit(maxBatch)) -
            Integer.numberOfTrailingZeros(Integer.highestOneBit(startBatch)) + 1;
        final ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), total * batches,
            progress || null != System.console());
        for (long block = startBlock; block <= maxBlock; block <<= 1)
        {
            for (int batch = startBatch; batch <= maxBatch; batch <<= 1)
            {
                bar.show(points.size(), DemoCommand.human(block) + " x " + batch);
                final Point p = point(lanes, op, block, batch);
                targets.forEach(Agent::pollNotifications);
                points.add(p);
                out.printf(Locale.ROOT, "%-10s %-6d %-8.3f %-10.2f %-9.2f %-9.2f %-9.2f %-9.2f %-9.2f %-9.2f %s%n",
                    DemoCommand.human(block), batch, p.gbps(), p.avgLat(), p.prep()[0], p.prep()[1], p.post()[0],
                    p.post()[1], p.xfer()[0], p.xfer()[1], check ? (p.ok() ? "ok" : "MISMATCH") : "");
                out.flush();
            }
        }
        bar.done(points.size());
        if (pathStats)
        {
            printPathStats(out, lanes);
        }
        write(points);
        if (null != plot)
        {
            BenchPlot.write(plot, points, backend + " " + opType + ", " + scheme + ", " + threads + " thread(s)");
            out.println("plot written to " + plot);
        }
        return points.stream().allMatch(Point::ok) ? 0 : 1;
    }

    private static void printPathStats(final PrintWriter out, final List<Lane> lanes)
    {
        out.printf(Locale.ROOT, "%-20s %-20s %-4s %-5s %-10s %-10s %-9s %-10s %s%n", "initiator", "peer", "path",
            "alive", "window", "inflight", "srtt_us", "acked_MB", "delivery_GB/s");
        lanes.stream().map(Lane::initiator).distinct().forEach(a -> a.pathStats().forEach(s ->
            out.printf(Locale.ROOT, "%-20s %-20s %-4d %-5s %-10d %-10d %-9.1f %-10.1f %.3f%n", a.name(), s.peer(),
                s.path(), s.alive(), s.windowBytes(), s.inflightBytes(), s.smoothedRttNs() / 1e3,
                s.bytesAcked() / 1e6, s.deliveryBytesPerSecond() / 1e9)));
        out.flush();
    }

    private Point point(final List<Lane> lanes, final TransferOp op, final long block, final int batch)
        throws Exception
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
                final Lane lane = lanes.get(t);
                final int id = t;
                jobs.add(() ->
                {
                    final Agent initiator = lane.initiator();
                    if (TransferOp.WRITE == op || null != lane.target())
                    {
                        final BenchMemory from = TransferOp.WRITE == op ? lane.local() : lane.target();
                        for (long off = 0; off + 8 <= block * batch; off += 8)
                        {
                            from.host().set(ValueLayout.JAVA_LONG_UNALIGNED, off, off ^ block ^ ((long)batch << 40));
                        }
                        from.upload();
                    }
                    final DescList l = descs(lane.local().kind(), lane.local().address(), block, batch, false);
                    final DescList r = descs(lane.remoteKind(), lane.remoteBase(), block, batch, true);
                    final PreparedList lp = initiator.prepare(l);
                    final PreparedList rp = initiator.prepare(lane.peer(), r);
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
                            initiator.createTransfer(op, l, r, lane.peer(), TransferOptions.notify(note)) :
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
                    if (check && !consistent(lane, op, l, r, block, batch))
                    {
                        synchronized (ok)
                        {
                            ok[0] = false;
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
        final long moved = (long)threads * iterations * block * batch;
        final long nanos = Math.max(1, end.get() - start.get());
        return new Point(block, batch, moved / (nanos / 1e9) / 1e9, nanos / 1e3 / iterations, stats(prep), stats(post),
            stats(xfer), iterations, ok[0]);
    }

    /**
     * Block i of the initiator's span pairs with block (batch - 1 - i) of the target's. A target in this process is
     * compared directly; one in another process is checked against the pattern it filled its memory with (READ) or
     * read back into scratch memory (WRITE).
     */
    private static boolean consistent(final Lane lane, final TransferOp op, final DescList l, final DescList r,
        final long block, final int batch) throws Exception
    {
        final MemorySegment mine = lane.local().contents();
        if (null != lane.target())
        {
            final MemorySegment theirs = lane.target().contents();
            for (int i = 0; i < batch; i++)
            {
                final long so = i * block;
                final long d0 = (long)(batch - 1 - i) * block;
                if (-1 != MemorySegment.mismatch(mine, so, so + block, theirs, d0, d0 + block))
                {
                    return false;
                }
            }
            return true;
        }
        if (TransferOp.READ == op)
        {
            for (int i = 0; i < batch; i++)
            {
                final long remoteOffset = (long)(batch - 1 - i) * block;
                if (KvPattern.firstMismatch(mine.asSlice(i * block, block), lane.remoteSeed(), remoteOffset >>> 3) >= 0)
                {
                    return false;
                }
            }
            return true;
        }
        // WRITE to another process: read the span back next to what was written and compare
        try (Arena a = Arena.ofShared();
            BenchMemory scratch = BenchMemory.allocate(lane.local().kind(), block * batch, a))
        {
            lane.initiator().register(scratch.kind(), List.of(scratch.region()));
            final Transfer back = lane.initiator().createTransfer(TransferOp.READ,
                descs(scratch.kind(), scratch.address(), block, batch, false), r, lane.peer(), TransferOptions.NONE);
            back.post();
            back.await(Duration.ofSeconds(60));
            lane.initiator().deregister(scratch.kind(), DescList.of(scratch.kind(), scratch.region().desc()));
            return -1 == MemorySegment.mismatch(mine, 0, block * batch, scratch.contents(), 0, block * batch);
        }
    }

    private static DescList descs(final MemoryKind kind, final long base, final long block, final int batch,
        final boolean reversed)
    {
        final DescList.Builder b = DescList.builder(kind, batch);
        for (int i = 0; i < batch; i++)
        {
            b.add(base + (reversed ? (long)(batch - 1 - i) : i) * block, block, 0);
        }
        return b.build();
    }

    private static double[] stats(final Histogram h)
    {
        return new double[] {h.getMean() / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(50) / 1e3};
    }

    /** @return where host memory comes from: a ShmArena for SHM (unless --no-shm-arena), else ordinary memory. */
    private Arena hostArena()
    {
        return "SHM".equals(backend) && shmArena ? io.ferry.shm.ShmArena.open() : Arena.ofShared();
    }

    private AgentConfig config(final String name, final FerryMetrics metrics, final int metadataPort)
    {
        final AgentConfig.Builder b = "both".equals(role) ? CliAgents.config(name, backend, backendParams) :
            CliAgents.networked(name, backend, metadataPort, backendParams);
        if (metricsPort >= 0)
        {
            b.observer(metrics); // only when asked for: observing costs time on every transfer
        }
        return b.build();
    }

    private void validate()
    {
        final List<String> problems = new ArrayList<>();
        if (!List.of("LOCAL", "SHM", "UCX", "TCP", "CUDA", "FILE").contains(backend))
        {
            problems.add("--backend must be LOCAL, SHM, UCX, TCP, CUDA or FILE, got '" + backend + "'");
        }
        else if ("SHM".equals(backend) && (MemoryKind.VRAM == BenchMemory.kindOf(initiatorSegType) ||
            MemoryKind.VRAM == BenchMemory.kindOf(targetSegType)))
        {
            problems.add("the SHM backend moves DRAM only; use --backend CUDA for VRAM on one host");
        }
        if (!"READ".equalsIgnoreCase(opType) && !"WRITE".equalsIgnoreCase(opType))
        {
            problems.add("--op-type must be READ or WRITE, got '" + opType + "'");
        }
        final boolean file = "FILE".equals(backend) || "FILE".equalsIgnoreCase(targetSegType);
        if (file && (!"FILE".equals(backend) || !"FILE".equalsIgnoreCase(targetSegType) || null == filepath ||
            !"both".equals(role) || !"DRAM".equalsIgnoreCase(initiatorSegType)))
        {
            problems.add("storage runs as --backend FILE --target-seg-type FILE --filepath PATH, DRAM on the " +
                "initiator side, in one process");
        }
        final String segProblem = file ? BenchMemory.problem(initiatorSegType) :
            BenchMemory.problem(initiatorSegType, targetSegType);
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
        if (!List.of("pairwise", "one-to-many", "many-to-one").contains(scheme))
        {
            problems.add("--scheme must be pairwise, one-to-many or many-to-one, got '" + scheme + "'");
        }
        if (!List.of("both", "target", "initiator").contains(role))
        {
            problems.add("--role must be both, target or initiator, got '" + role + "'");
        }
        else if (!"both".equals(role))
        {
            if (!"pairwise".equals(scheme))
            {
                problems.add("--scheme " + scheme + " runs in one process (--role both); roles are pairwise");
            }
            if ("LOCAL".equals(backend))
            {
                problems.add("--role " + role + " needs a backend that reaches another process: --backend TCP " +
                    "(or CUDA on one host)");
            }
            if ("initiator".equals(role) && null == targetAddress && null == etcd)
            {
                problems.add("--role initiator needs --target HOST:PORT or --etcd URL");
            }
            if (null != targetAddress && !targetAddress.matches("[^:]+:\\d{1,5}"))
            {
                problems.add("--target must be HOST:PORT, got '" + targetAddress + "'");
            }
        }
        if (timeoutSeconds < 1 || listenPort < 0 || listenPort > 65535)
        {
            problems.add("--timeout must be positive and --listen-port within 0-65535");
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
                    "\"p50_tx_us\":%.3f,\"p99_tx_us\":%.3f,\"iterations\":%d,\"consistent\":%s}", p.block(),
                    p.batch(), p.gbps(), p.avgLat(), p.prep()[0], p.prep()[1], p.post()[0], p.post()[1], p.xfer()[0],
                    p.xfer()[2], p.xfer()[1], p.iterations(), p.ok()));
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
