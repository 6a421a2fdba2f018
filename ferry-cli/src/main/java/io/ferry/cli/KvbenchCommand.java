package io.ferry.cli;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.PreparedList;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code ferry kvbench}: the KV cache of one request of a model preset, in vLLM's block layout, pushed (WRITE) or
 * pulled (READ) between a prefill and a decode agent; or with {@code --dry-run} only the sizes.
 */
@Command(name = "kvbench", mixinStandardHelpOptions = true,
    description = "Move one request's KV cache (model preset, vLLM block layout) between two agents.")
final class KvbenchCommand implements Callable<Integer>
{
    @Option(names = "--model", defaultValue = "llama-3.1-8b",
        description = "llama-3.1-8b, llama-3.1-70b, qwen3-32b or deepseek-v3 (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--tokens", defaultValue = "2048", description = "prompt tokens (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--block-tokens", defaultValue = "16", description = "tokens per block (default ${DEFAULT-VALUE}).")
    int blockTokens;

    @Option(names = "--tp", defaultValue = "1", description = "tensor-parallel ranks (default ${DEFAULT-VALUE}).")
    int tp;

    @Option(names = "--dtype", defaultValue = "bf16", description = "bf16, fp16 or fp8 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--mode", defaultValue = "push",
        description = "push (prefill WRITEs) or pull (decode READs) (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--backend", defaultValue = "LOCAL",
        description = "LOCAL, SHM, UCX, TCP or CUDA (default ${DEFAULT-VALUE}; VRAM needs TCP or CUDA; SHM's KV lives " +
            "in a ShmArena).")
    String backend;

    @Option(names = "--prefill-seg-type", defaultValue = "DRAM",
        description = "where prefill's KV lives: DRAM or VRAM (GPU 0) (default ${DEFAULT-VALUE}).")
    String prefillSegType;

    @Option(names = "--decode-seg-type", defaultValue = "DRAM",
        description = "where decode's KV cache lives: DRAM or VRAM (GPU 0) (default ${DEFAULT-VALUE}).")
    String decodeSegType;

    @Option(names = "--iterations", defaultValue = "5", description = "requests moved (default ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--warmup", defaultValue = "2",
        description = "requests moved first and not timed (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--tier", paramLabel = "TIER",
        description = "file: offload the request's KV to files in --dir and reload it (llm-d's fs layout for " +
            "vLLM's offloading connector), instead of moving it between two agents.")
    String tier;

    @Option(names = "--dir", paramLabel = "DIR", description = "with --tier file: where the files go (removed after).")
    java.nio.file.Path dir;

    @Option(names = "--backend-param", paramLabel = "KEY=VALUE",
        description = "a backend parameter, repeatable (e.g. copy_kernel=never for CUDA, paths=2 for TCP).")
    java.util.Map<String, String> backendParams = new java.util.LinkedHashMap<>();

    @Option(names = "--dry-run", description = "print the sizes, move nothing.")
    boolean dryRun;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final KvShape shape;
        try
        {
            shape = new KvShape(KvModel.preset(model), tokens, blockTokens, tp, dtypeBytes(dtype));
            if (!"push".equals(mode) && !"pull".equals(mode))
            {
                throw new IllegalArgumentException("--mode must be push or pull, got '" + mode + "'");
            }
            if (warmup < 0)
            {
                throw new IllegalArgumentException("--warmup must not be negative");
            }
            if (iterations < 1)
            {
                throw new IllegalArgumentException("--iterations must be positive");
            }
            if (null != tier && (!"file".equals(tier) || null == dir || !"DRAM".equalsIgnoreCase(prefillSegType)))
            {
                throw new IllegalArgumentException("--tier file --dir DIR offloads DRAM KV to files (the only tier " +
                    "so far), got --tier " + tier + (null == dir ? " without --dir" : ""));
            }
            if (!java.util.List.of("LOCAL", "SHM", "UCX", "TCP", "CUDA").contains(backend))
            {
                throw new IllegalArgumentException("--backend must be LOCAL, SHM, UCX, TCP or CUDA, got '" + backend + "'");
            }
            final String seg = BenchMemory.problem(prefillSegType, decodeSegType);
            if (null != seg)
            {
                throw new IllegalArgumentException(seg);
            }
            if (("LOCAL".equals(backend) || "SHM".equals(backend)) && (MemoryKind.VRAM == BenchMemory.kindOf(prefillSegType) ||
                MemoryKind.VRAM == BenchMemory.kindOf(decodeSegType)))
            {
                throw new IllegalArgumentException("the " + backend + " backend moves DRAM only; use --backend CUDA " +
                    "or TCP for VRAM");
            }
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), ex.getMessage());
        }
        printSizes(out, shape);
        if (dryRun)
        {
            out.flush();
            return 0;
        }
        if (shape.bytesPerRank() > (24L << 30))
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "one rank's KV (" +
                DemoCommand.human(shape.bytesPerRank()) + ") is too large to hold twice in this process; use " +
                "--dry-run, fewer --tokens or a larger --tp");
        }
        if (null != tier)
        {
            try
            {
                return KvFileTier.run(out, shape, dir, iterations, warmup);
            }
            catch (final java.io.IOException ex)
            {
                out.println("kvbench: " + ex.getMessage());
                return 1;
            }
        }
        return run(out, shape);
    }

    private void printSizes(final PrintWriter out, final KvShape s)
    {
        final KvModel m = s.model();
        out.printf(Locale.ROOT, "model %s: %d layers, %s, %s, %d tokens in %d-token blocks, TP %d%n", m.name(),
            m.layers(), m.mla() ? "MLA (latent " + m.headDim() + ")" : m.kvHeads() + " KV heads x " + m.headDim(),
            dtype, tokens, blockTokens, tp);
        out.printf(Locale.ROOT, "KV per token     %s (all layers%s)%n", DemoCommand.human(s.bytesPerToken()),
            m.mla() ? "" : ", K and V");
        out.printf(Locale.ROOT, "per rank         %d regions x %d blocks = %,d descriptors of %s = %s%n",
            s.regions(), s.blocks(), s.descriptorsPerRank(), DemoCommand.human(s.descriptorBytes()),
            DemoCommand.human(s.bytesPerRank()));
        final long all = s.bytesAllRanks();
        out.printf(Locale.ROOT, "all %d rank(s)    %s per request: %.1f ms at 100 Gb/s, %.1f ms at 200 Gb/s, " +
            "%.1f ms at 400 Gb/s (line rate, before overheads)%n", s.tp(), DemoCommand.human(all),
            all / 12.5e9 * 1e3, all / 25e9 * 1e3, all / 50e9 * 1e3);
    }

    private int run(final PrintWriter out, final KvShape s)
    {
        final int regions = s.regions();
        final int blocks = s.blocks();
        final long desc = s.descriptorBytes();
        final long regionBytes = blocks * desc;
        try (Arena arena = "SHM".equals(backend) ? io.ferry.shm.ShmArena.open() : Arena.ofShared();
            BenchMemory p = BenchMemory.allocate(BenchMemory.kindOf(prefillSegType), regions * regionBytes, arena);
            BenchMemory d = BenchMemory.allocate(BenchMemory.kindOf(decodeSegType), regions * regionBytes, arena);
            Agent prefill = Agent.create(CliAgents.config("kv-prefill", backend, backendParams).build());
            Agent decode = Agent.create(CliAgents.config("kv-decode", backend, backendParams).build()))
        {
            final MemorySegment ph = p.host();
            for (long off = 0; off + 8 <= ph.byteSize(); off += 8)
            {
                ph.set(ValueLayout.JAVA_LONG_UNALIGNED, off, off * 0x9E3779B97F4A7C15L);
            }
            p.upload();
            prefill.register(p.kind(), regionList(p, regions, regionBytes));
            decode.register(d.kind(), regionList(d, regions, regionBytes));
            prefill.loadRemoteMetadata(decode.localMetadata());
            decode.loadRemoteMetadata(prefill.localMetadata());

            // prefill block b of a region lands in decode block (blocks - 1 - b): scattered ids, as in vLLM
            final int n = regions * blocks;
            final int[] pIdx = new int[n];
            final int[] dIdx = new int[n];
            for (int r = 0, k = 0; r < regions; r++)
            {
                for (int b = 0; b < blocks; b++, k++)
                {
                    pIdx[k] = r * blocks + b;
                    dIdx[k] = r * blocks + (blocks - 1 - b);
                }
            }
            final boolean push = "push".equals(mode);
            final Transfer t;
            if (push)
            {
                final PreparedList local = prefill.prepare(blockList(p, regions, blocks, desc));
                final PreparedList remote = prefill.prepare(decode.name(), blockList(d, regions, blocks, desc));
                t = prefill.transfer(TransferOp.WRITE, local, pIdx, remote, dIdx,
                    TransferOptions.notify("req-0:kv-ready".getBytes(StandardCharsets.UTF_8)));
            }
            else
            {
                final PreparedList local = decode.prepare(blockList(d, regions, blocks, desc));
                final PreparedList remote = decode.prepare(prefill.name(), blockList(p, regions, blocks, desc));
                t = decode.transfer(TransferOp.READ, local, dIdx, remote, pIdx, TransferOptions.NONE);
            }
            final long median = medianNanos(t, iterations, warmup, () ->
            {
                if (push)
                {
                    decode.awaitNotification(Duration.ofSeconds(30));
                }
            });
            final boolean ok = verify(p.contents(), d.contents(), regions, blocks, desc);
            out.printf(Locale.ROOT, "%s %s -> %s over %s: %d descriptors (%d after merging), median %.2f ms per request " +
                "(%d runs after %d warm-up), %.2f GB/s; every byte %s%n", push ? "push (WRITE)" : "pull (READ)", p.kind(), d.kind(),
                backend,
                n, t.descriptorCount(), median / 1e6, iterations, warmup, s.bytesPerRank() / (median / 1e9) / 1e9,
                ok ? "verified" : "MISMATCHED");
            out.flush();
            return ok ? 0 : 1;
        }
    }

    /**
     * Posts a request {@code warmup + iterations} times, one at a time, running {@code afterEach} after each (the
     * target taking its notification, say).
     *
     * @return the median transfer time of the timed posts, in nanoseconds.
     */
    static long medianNanos(final Transfer t, final int iterations, final int warmup, final Runnable afterEach)
    {
        final long[] nanos = new long[iterations];
        for (int i = -warmup; i < iterations; i++)
        {
            t.post();
            t.await(Duration.ofMinutes(5));
            if (i >= 0)
            {
                nanos[i] = t.telemetry().transferDuration().toNanos();
            }
            afterEach.run();
        }
        Arrays.sort(nanos);
        return nanos[iterations / 2];
    }

    private static List<Region> regionList(final BenchMemory all, final int regions, final long regionBytes)
    {
        final List<Region> list = new ArrayList<>(regions);
        for (int r = 0; r < regions; r++)
        {
            list.add(all.region(r * regionBytes, regionBytes));
        }
        return list;
    }

    private static DescList blockList(final BenchMemory all, final int regions, final int blocks, final long desc)
    {
        final DescList.Builder b = DescList.builder(all.kind(), regions * blocks);
        for (int r = 0; r < regions; r++)
        {
            for (int k = 0; k < blocks; k++)
            {
                b.add(all.address() + ((long)r * blocks + k) * desc, desc, 0);
            }
        }
        return b.build();
    }

    private static boolean verify(final MemorySegment p, final MemorySegment d, final int regions, final int blocks,
        final long desc)
    {
        for (int r = 0; r < regions; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                final long from = ((long)r * blocks + b) * desc;
                final long to = ((long)r * blocks + (blocks - 1 - b)) * desc;
                if (-1 != MemorySegment.mismatch(p, from, from + desc, d, to, to + desc))
                {
                    return false;
                }
            }
        }
        return true;
    }

    private static int dtypeBytes(final String name)
    {
        return switch (name.toLowerCase(Locale.ROOT))
        {
            case "bf16", "fp16" -> 2;
            case "fp8" -> 1;
            default -> throw new IllegalArgumentException("--dtype must be bf16, fp16 or fp8, got '" + name + "'");
        };
    }
}
