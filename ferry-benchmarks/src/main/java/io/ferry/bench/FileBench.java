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
            final long warmEnd = System.nanoTime() + 2_000_000_000L;
            final long end = warmEnd + 8_000_000_000L;
            for (int t = 0; t < threads; t++)
            {
                final int thread = t;
                runs.add(CompletableFuture.supplyAsync(() -> lane(agent, op, random, mem.asSlice(thread * bs * depth,
                    bs * depth), thread * perThread, perThread, bs, depth, warmEnd, end, thread),
                    java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
            }
            long ios = 0;
            for (final CompletableFuture<long[]> r : runs)
            {
                ios += r.get()[0];
            }
            final double seconds = (end - warmEnd) / 1e9;
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

    /** One thread: {@code depth} transfers in flight, each moved to the next offset as it completes. */
    private static long[] lane(final Agent agent, final TransferOp op, final boolean random,
        final MemorySegment buffers, final long base, final long span, final long bs, final int depth,
        final long warmEnd, final long end, final int seed)
    {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final long blocks = span / bs;
        long next = 0;
        final Transfer[] inFlight = new Transfer[depth];
        long ios = 0;
        for (int k = 0; k < depth; k++)
        {
            inFlight[k] = post(agent, op, buffers.asSlice(k * bs, bs), base + bs * (random ?
                rnd.nextLong(blocks) : next++ % blocks), bs);
        }
        for (int k = 0; ; k = (k + 1) % depth)
        {
            inFlight[k].await(Duration.ofSeconds(60));
            inFlight[k].close();
            final long now = System.nanoTime();
            if (now - warmEnd >= 0)
            {
                if (now - end >= 0)
                {
                    for (int j = 0; j < depth; j++)
                    {
                        if (j != k)
                        {
                            inFlight[j].await(Duration.ofSeconds(60));
                        }
                    }
                    return new long[]{ios};
                }
                ios++;
            }
            inFlight[k] = post(agent, op, buffers.asSlice(k * bs, bs), base + bs * (random ?
                rnd.nextLong(blocks) : next++ % blocks), bs);
        }
    }

    private static Transfer post(final Agent agent, final TransferOp op, final MemorySegment buffer, final long offset,
        final long bs)
    {
        final Transfer t = agent.createTransfer(op, DescList.dram(buffer), DescList.builder(MemoryKind.FILE)
            .add(offset, bs, 1).build(), agent.name(), TransferOptions.NONE);
        t.post();
        return t;
    }
}
