package io.ferry.cli;

import io.ferry.FerryException;
import io.ferry.Notification;
import io.ferry.connect.BlockPool;
import io.ferry.connect.Connector;
import io.ferry.connect.Operation;
import io.ferry.connect.PeerPool;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The demo's decode worker: owns an empty KV pool, accepts the prefill worker's handshake, receives each request's
 * KV (pulling it, or being pushed it), verifies every byte, and reports per-request latency, bandwidth and what it
 * means for time to first token.
 */
final class DemoDecode
{
    private DemoDecode()
    {
    }

    static List<MemorySegment> regions(final Arena arena, final DemoSpec spec)
    {
        final List<MemorySegment> out = new ArrayList<>();
        for (int r = 0; r < spec.layout().regions(); r++)
        {
            out.add(arena.allocate(spec.layout().regionBytes(), 4096));
        }
        return out;
    }

    /**
     * @param ready called with the metadata port once the pool is up (the parent process waits for it).
     * @return the exit code: 0 when every byte of every request verified.
     */
    static int run(final Connector c, final DemoSpec spec, final String prefillName, final PrintWriter out,
        final java.util.function.IntConsumer ready)
    {
        try (Arena arena = spec.hostArena())
        {
            final BlockPool pool = c.createBlockPool(spec.layout(), regions(arena, spec));
            ready.accept(c.agent().metadataAddress().orElseThrow().getPort());
            final PeerPool prefill = pool.awaitPeer(prefillName, spec.timeout());
            if (spec.pull())
            {
                c.agent().connect(prefillName); // connections (and SHM's mappings) before the first request
            }
            final String batch = take(c, spec, prefillName, "batch ").payloadAsString();
            final String expected = "batch " + spec.requests() + " " + (spec.pull() ? "pull" : "push");
            if (!batch.equals(expected))
            {
                c.sendMessage(prefillName, "abort".getBytes(StandardCharsets.UTF_8));
                out.println("decode: the prefill worker announced '" + batch + "' but this worker expects '" +
                    expected + "'; run both with the same --requests and --mode");
                return 1;
            }
            final int[][] mine = spec.blockIds(2);
            final long[] latency = new long[spec.requests()];
            long first = Long.MAX_VALUE;
            long last = 0;
            for (int n = 0; n < spec.requests(); n++)
            {
                final int request;
                final long start;
                if (spec.pull())
                {
                    final String[] m = take(c, spec, prefillName, "ready ").payloadAsString().split(" ");
                    request = Integer.parseInt(m[1]);
                    final int[] theirs = DemoSpec.parseIds(m[2]);
                    start = System.nanoTime();
                    try (Operation read = pool.read(prefill, mine[request], theirs, null))
                    {
                        read.awaitCompletion(spec.timeout());
                    }
                    latency[request] = System.nanoTime() - start;
                    prefill.release("req-" + request);
                }
                else
                {
                    request = n;
                    start = System.nanoTime();
                    c.sendMessage(prefillName, ("want " + request + " " + DemoSpec.ids(mine[request]))
                        .getBytes(StandardCharsets.UTF_8));
                    final Notification kv = take(c, spec, prefillName, "kv " + request);
                    latency[request] = System.nanoTime() - start;
                    if (kv.isFailure())
                    {
                        out.println("decode: the push of request " + request + " failed: " + kv.failureReason());
                        return 1;
                    }
                }
                first = Math.min(first, start);
                last = Math.max(last, start + latency[request]);
            }
            final String bad = verify(pool, spec, mine);
            c.sendMessage(prefillName, "done".getBytes(StandardCharsets.UTF_8));
            report(out, spec, prefillName, String.join(" or ", c.agent().backendsReaching(prefillName).subList(0, 1)), latency, last - first, bad);
            return null == bad ? 0 : 1;
        }
        catch (final FerryException ex)
        {
            out.println("decode: " + ex.getMessage());
            return 1;
        }
    }

    private static Notification take(final Connector c, final DemoSpec spec, final String from,
        final String prefix)
    {
        final Notification n = c.awaitMessage(from, m -> m.payloadAsString().startsWith(prefix) ||
            m.payloadAsString().equals("abort"), spec.timeout());
        if (n.payloadAsString().equals("abort"))
        {
            throw new FerryException(io.ferry.ErrorCode.CANCELED, "the prefill worker aborted the run");
        }
        return n;
    }

    /** @return null when every block holds what its request, region and place say; else where it does not. */
    private static String verify(final BlockPool pool, final DemoSpec spec, final int[][] mine)
    {
        for (int request = 0; request < spec.requests(); request++)
        {
            for (int region = 0; region < spec.layout().regions(); region++)
            {
                for (int j = 0; j < spec.blocksPerRequest(); j++)
                {
                    final long at = KvPattern.firstMismatch(pool.block(region, mine[request][j]),
                        KvPattern.seed(request, region, j));
                    if (at >= 0)
                    {
                        return "request " + request + ", region " + region + ", block " + j + " (slot " +
                            mine[request][j] + ") differs at byte " + at;
                    }
                }
            }
        }
        return null;
    }

    private static void report(final PrintWriter out, final DemoSpec spec, final String prefillName,
        final String carrier, final long[] latency, final long wallNs, final String bad)
    {
        final KvShape s = spec.shape();
        out.printf("decode-0 %s %d requests of %s KV from %s over %s (%d tokens each: %d regions x %d blocks of " +
            "%s = %s per request)%n", spec.pull() ? "pulled (READ)" : "was pushed (WRITE + notification)",
            spec.requests(), s.model().name(), prefillName, carrier, s.tokens(), s.regions(), s.blocks(),
            DemoCommand.human(s.descriptorBytes()), DemoCommand.human(spec.bytesPerRequest()));
        out.printf("%-8s %-8s %-11s %-11s %s%n", "request", "descs", "bytes", "latency_ms", "GB/s");
        for (int r = 0; r < latency.length; r++)
        {
            out.printf("%-8d %-8d %-11s %-11.2f %.2f%n", r, s.regions() * s.blocks(),
                DemoCommand.human(spec.bytesPerRequest()), latency[r] / 1e6, spec.bytesPerRequest() / (double)latency[r]);
        }
        final long[] sorted = latency.clone();
        Arrays.sort(sorted);
        final long total = spec.bytesPerRequest() * spec.requests();
        final double gbps = total / (double)wallNs;
        out.printf("total    %s in %d requests, %.1f ms wall, %.2f GB/s; latency p50 %.2f ms, max %.2f ms%n",
            DemoCommand.human(total), spec.requests(), wallNs / 1e6, gbps, sorted[sorted.length / 2] / 1e6,
            sorted[sorted.length - 1] / 1e6);
        out.printf("verify   every byte of every block: %s%n", null == bad ? "OK" : "MISMATCH: " + bad);
        final KvShape seed = new KvShape(KvModel.preset("llama-3.1-70b"), 10_000, 16, 1, 2);
        final long kv = seed.bytesAllRanks();
        out.printf("TTFT     the seeds' example, Llama-3.1-70B with a 10,000-token prompt, moves %s of KV:%n",
            DemoCommand.human(kv));
        out.printf("         at this run's %.2f GB/s: %.0f ms; at 100 Gb/s line rate: %.0f ms (200 Gb/s: %.0f ms, " +
            "400 Gb/s: %.0f ms)%n", gbps, kv / gbps / 1e6, kv / 12.5e9 * 1e3, kv / 25e9 * 1e3, kv / 50e9 * 1e3);
        out.flush();
    }
}
