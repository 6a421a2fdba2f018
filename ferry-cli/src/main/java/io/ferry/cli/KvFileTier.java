package io.ferry.cli;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.file.FileRegions;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code ferry kvbench --tier file}: one request's KV blocks offloaded to files and reloaded, in the layout of
 * llm-d's file-system backend for vLLM's offloading connector: one file per 256 tokens, holding every layer's K and
 * V blocks of those tokens, region by region. The engine's blocks are scattered (block b of a region sits where
 * vLLM's allocator put it, here reversed), so each 16-token block is one I/O; every byte is verified after the
 * reload, and the files are removed at the end.
 */
final class KvFileTier
{
    /** llm-d fs backend's default {@code block_size}: tokens per file. */
    static final int TOKENS_PER_FILE = 256;

    private KvFileTier()
    {
    }

    static int run(final PrintWriter out, final KvShape s, final Path dir, final int iterations, final int warmup)
        throws IOException
    {
        final int regions = s.regions();
        final int blocks = s.blocks();
        final long desc = s.descriptorBytes();
        final int perFile = Math.max(1, TOKENS_PER_FILE / s.blockTokens());
        final int files = (blocks + perFile - 1) / perFile;
        final long regionBytes = blocks * desc;
        Files.createDirectories(dir);
        final List<Path> paths = new ArrayList<>();
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(CliAgents.config("kv-offload", "FILE").build()))
        {
            final MemorySegment engine = arena.allocate(regions * regionBytes, 4096);
            final MemorySegment reload = arena.allocate(regions * regionBytes, 4096);
            for (long off = 0; off + 8 <= engine.byteSize(); off += 8)
            {
                engine.set(ValueLayout.JAVA_LONG, off, off * 0x9E3779B97F4A7C15L);
            }
            agent.register(MemoryKind.DRAM, List.of(Region.of(engine), Region.of(reload)));
            final List<Region> fileRegions = new ArrayList<>();
            for (int f = 0; f < files; f++)
            {
                final Path p = dir.resolve(String.format(Locale.ROOT, "kv-%05d.bin", f));
                paths.add(p);
                fileRegions.add(FileRegions.of(p, f, FileRegions.FileAccess.CREATE));
            }
            agent.register(MemoryKind.FILE, fileRegions);
            final Transfer offload = agent.createTransfer(TransferOp.WRITE, blockList(engine, regions, blocks, desc),
                fileList(regions, blocks, desc, perFile), agent.name(), TransferOptions.NONE);
            final Transfer load = agent.createTransfer(TransferOp.READ, blockList(reload, regions, blocks, desc),
                fileList(regions, blocks, desc, perFile), agent.name(), TransferOptions.NONE);
            final double write = KvbenchCommand.medianNanos(offload, iterations, warmup, () -> { });
            final double read = KvbenchCommand.medianNanos(load, iterations, warmup, () -> { });
            final boolean ok = -1 == MemorySegment.mismatch(engine, 0, engine.byteSize(), reload, 0, reload.byteSize());
            out.printf(Locale.ROOT, "file tier %s: %d files of %s (%d tokens each, every layer's K and V: llm-d's fs " +
                "layout) for %d descriptors of %s%n", dir, files, DemoCommand.human(perFile * desc * regions),
                perFile * s.blockTokens(), regions * blocks, DemoCommand.human(desc));
            out.printf(Locale.ROOT, "offload (WRITE) median %.2f ms, %.2f GB/s; reload (READ) median %.2f ms, %.2f GB/s " +
                "(%s; %d runs after %d warm-up); every byte %s%n", write / 1e6, s.bytesPerRank() / write,
                read / 1e6, s.bytesPerRank() / read, load.telemetry().route(), iterations, warmup,
                ok ? "verified" : "MISMATCHED");
            out.flush();
            return ok ? 0 : 1;
        }
        finally
        {
            for (final Path p : paths)
            {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Block b of region r at engine block (blocks - 1 - b): scattered, as vLLM's allocator leaves them. */
    private static DescList blockList(final MemorySegment m, final int regions, final int blocks, final long desc)
    {
        final DescList.Builder b = DescList.builder(MemoryKind.DRAM, regions * blocks);
        for (int r = 0; r < regions; r++)
        {
            for (int k = 0; k < blocks; k++)
            {
                b.add(m.address() + ((long)r * blocks + (blocks - 1 - k)) * desc, desc, 0);
            }
        }
        return b.build();
    }

    /** Block b of region r in file b / perFile, at (r * perFile + b % perFile) * desc. */
    private static DescList fileList(final int regions, final int blocks, final long desc, final int perFile)
    {
        final DescList.Builder b = DescList.builder(MemoryKind.FILE, regions * blocks);
        for (int r = 0; r < regions; r++)
        {
            for (int k = 0; k < blocks; k++)
            {
                b.add(((long)r * perFile + k % perFile) * desc, desc, k / perFile);
            }
        }
        return b.build();
    }

}
