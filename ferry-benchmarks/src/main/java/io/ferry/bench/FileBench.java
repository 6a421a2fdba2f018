package io.ferry.bench;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.file.FileRegions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * The FILE backend the way fio measures a disk, for side-by-side runs with {@code fio --ioengine=io_uring}:
 * {@code FileBench FILE SIZE_MIB CASE [key=value FILE params]}, CASE one of
 * {@code write:BS:DEPTH:THREADS}, {@code read:BS:DEPTH:THREADS} (sequential through the file, each thread its own
 * part, DEPTH transfers of one BS-byte descriptor in flight per thread, as fio's iodepth) or
 * {@code randread:BS:DEPTH:THREADS} (uniformly random BS-aligned offsets). Runs 8 seconds after a 2-second warm-up
 * and prints one JSON object: GB/s and I/Os per second.
 */
public final class FileBench
{
    private static final long WARM_NS = 2_000_000_000L;
    private static final long RUN_NS = 8_000_000_000L;

    private FileBench()
    {
    }

    /**
     * @param args see the class comment.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final Path file = Path.of(args[0]);
        final long size = Long.parseLong(args[1]) << 20;
        final String[] c = args[2].split(":");
        final TransferOp op = c[0].startsWith("write") ? TransferOp.WRITE : TransferOp.READ;
        final boolean random = c[0].startsWith("rand");
        final long bs = parseSize(c[1]);
        final int depth = Integer.parseInt(c[2]);
        final int threads = Integer.parseInt(c[3]);
        final Map<String, String> params = new HashMap<>();
        params.put("max_io_bytes", String.valueOf(Math.max(4096, bs)));
        params.put("io_threads", String.valueOf(threads));
        for (int i = 3; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder("file-bench").backend("FILE", params).build()))
        {
            final MemorySegment mem = arena.allocate(bs * depth * threads, 4096);
            mem.fill((byte)7);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(file, 1, FileRegions.FileAccess.CREATE)));
            final long perThread = size / threads / bs * bs;
            final List<CompletableFuture<long[]>> runs = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int thread = t;
                runs.add(CompletableFuture.supplyAsync(() -> lane(agent, op, random, mem.asSlice(thread * bs * depth,
                    bs * depth), thread * perThread, perThread, bs, depth, thread),
                    java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
            }
            long ios = 0;
            for (final CompletableFuture<long[]> r : runs)
            {
                ios += r.get()[0];
            }
            final double seconds = RUN_NS / 1e9;
            final Transfer probe = agent.createTransfer(op, DescList.dram(mem.asSlice(0, bs)),
                DescList.builder(MemoryKind.FILE).add(0, bs, 1).build(), agent.name(), TransferOptions.NONE);
            probe.post();
            probe.await(Duration.ofSeconds(30));
            System.out.printf(Locale.ROOT, "{\"case\":\"%s\",\"GBps\":%.4f,\"iops\":%.0f,\"route\":\"%s\"}%n",
                args[2], ios * bs / seconds / 1e9, ios / seconds, probe.telemetry().route());
        }
    }

    private static long parseSize(final String s)
    {
        final char unit = Character.toLowerCase(s.charAt(s.length() - 1));
        final long n = Long.parseLong(Character.isDigit(unit) ? s : s.substring(0, s.length() - 1));
        return switch (unit)
        {
            case 'k' -> n << 10;
            case 'm' -> n << 20;
            default -> n;
        };
    }

    /**
     * One lane: {@code depth} transfers in flight, each followed by the next as it completes. The transfers are made before
     * the clock starts (one per block of the thread's span, in order, or 65,536 at uniformly random offsets), so that
     * what is timed is post, I/O and completion, as fio times submission and completion.
     */
    private static long[] lane(final Agent agent, final TransferOp op, final boolean random,
        final MemorySegment buffers, final long base, final long span, final long bs, final int depth,
        final int seed)
    {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final long blocks = span / bs;
        final int made = (int)(random ? 65_536 : Math.min(blocks, 65_536));
        final Transfer[] all = new Transfer[made];
        for (int i = 0; i < made; i++)
        {
            final long block = random ? rnd.nextLong(blocks) : i;
            all[i] = agent.createTransfer(op, DescList.dram(buffers.asSlice((i % depth) * bs, bs)),
                DescList.builder(MemoryKind.FILE).add(base + bs * block, bs, 1).build(), agent.name(),
                TransferOptions.NONE);
        }
        final long warmEnd = System.nanoTime() + WARM_NS;
        final long end = warmEnd + RUN_NS;
        // slot k posts transfers k, k + depth, k + 2 depth, ...: all of them use buffer k, one at a time; each is
        // posted again from its completion (on the engine's thread), as fio resubmits whichever I/O completed
        final int limit = made - made % depth;
        final java.util.concurrent.atomic.AtomicLong ios = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(depth);
        final java.util.concurrent.atomic.AtomicReference<Throwable> failure =
            new java.util.concurrent.atomic.AtomicReference<>();
        for (int k = 0; k < depth; k++)
        {
            final int slot = k;
            final Runnable[] step = new Runnable[1];
            final int[] cursor = {slot};
            step[0] = () ->
            {
                final long now = System.nanoTime();
                if (now - end >= 0)
                {
                    finished.countDown();
                    return;
                }
                if (now - warmEnd >= 0)
                {
                    ios.incrementAndGet();
                }
                cursor[0] = cursor[0] + depth < limit ? cursor[0] + depth : slot;
                final Transfer next = all[cursor[0]];
                next.post();
                next.completion().whenComplete((t, ex) ->
                {
                    if (null != ex)
                    {
                        failure.compareAndSet(null, ex);
                        finished.countDown();
                    }
                    else
                    {
                        step[0].run();
                    }
                });
            };
            all[slot].post();
            all[slot].completion().whenComplete((t, ex) -> step[0].run());
        }
        try
        {
            if (!finished.await(RUN_NS + WARM_NS + 60_000_000_000L, java.util.concurrent.TimeUnit.NANOSECONDS))
            {
                throw new IllegalStateException("the lane did not finish");
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
        if (null != failure.get())
        {
            throw new IllegalStateException(failure.get());
        }
        return new long[]{ios.get()};
    }

}
