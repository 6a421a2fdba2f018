package io.ferry.cli;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.PreparedList;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.TransferTelemetry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ferry demo}: a prefill agent and a decode agent in this process walk through register, metadata
 * exchange, push (WRITE) with a notification, pull (READ), and verify every byte.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Register -> metadata -> transfer -> notification between two agents in this process.")
final class DemoCommand implements Callable<Integer>
{
    @Option(names = "--blocks", defaultValue = "256", description = "KV blocks to move (default ${DEFAULT-VALUE}).")
    int blocks;

    @Option(names = "--block-size", defaultValue = "32768",
        description = "bytes per block (default ${DEFAULT-VALUE}: one layer's K of a 16-token Llama-3.1-8B block).")
    int blockSize;

    @Option(names = "--backend", defaultValue = "LOCAL", description = "backend (default ${DEFAULT-VALUE}).")
    String backend;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        if (blocks < 1 || blockSize < 1 || (long)blocks * blockSize > (1L << 34))
        {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "--blocks and --block-size must be positive and move at most 16 GiB");
        }
        final long bytes = (long)blocks * blockSize;
        try (Arena arena = Arena.ofShared();
            Agent prefill = Agent.create(AgentConfig.builder("prefill-0").backends(backend).build());
            Agent decode = Agent.create(AgentConfig.builder("decode-0").backends(backend).build()))
        {
            out.printf("1. agents       %s and %s, backend %s%n", prefill.name(), decode.name(), backend);

            final MemorySegment kv = arena.allocate(bytes, 4096);
            final MemorySegment cache = arena.allocate(bytes, 4096);
            fillBlocks(kv, blockSize);
            prefill.register(MemoryKind.DRAM, List.of(Region.of(kv)));
            decode.register(MemoryKind.DRAM, List.of(Region.of(cache)));
            out.printf("2. register     prefill: %s of KV (%d blocks x %d B); decode: an empty cache of the same size%n",
                human(bytes), blocks, blockSize);

            final byte[] decodeMd = decode.localMetadata();
            final String peer = prefill.loadRemoteMetadata(decodeMd);
            decode.loadRemoteMetadata(prefill.localMetadata());
            out.printf("3. metadata     decode's metadata (%d B) loaded by prefill -> peer '%s'%n", decodeMd.length, peer);

            // Push: prefill writes block i to decode's slot (blocks-1-i), a scattered layout no merge can collapse.
            final PreparedList local = prefill.prepare(blockList(kv, blocks, blockSize));
            final PreparedList remote = prefill.prepare(peer, blockList(cache, blocks, blockSize));
            final int[] from = new int[blocks];
            final int[] to = new int[blocks];
            for (int i = 0; i < blocks; i++)
            {
                from[i] = i;
                to[i] = blocks - 1 - i;
            }
            final Transfer push = prefill.transfer(TransferOp.WRITE, local, from, remote, to,
                TransferOptions.notify("req-17:kv-ready".getBytes(StandardCharsets.UTF_8)));
            push.post();
            push.await(Duration.ofSeconds(30));
            final Notification n = decode.awaitNotification(Duration.ofSeconds(30));
            report(out, "4. push (WRITE)", push.telemetry());
            out.printf("5. notification decode got '%s' from %s after the data landed%n", n.payloadAsString(),
                n.sender());

            final boolean pushOk = verify(cache, blockSize, blocks, true);
            out.printf("6. verify       every byte of %d blocks at decode: %s%n", blocks, pushOk ? "OK" : "MISMATCH");

            // Pull: decode reads the whole KV back in one merged descriptor.
            final MemorySegment pulled = arena.allocate(bytes, 4096);
            decode.register(MemoryKind.DRAM, List.of(Region.of(pulled)));
            final Transfer pull = decode.createTransfer(TransferOp.READ, DescList.dram(pulled), DescList.dram(kv),
                prefill.name(), TransferOptions.NONE);
            pull.post();
            pull.await(Duration.ofSeconds(30));
            report(out, "7. pull (READ)", pull.telemetry());
            final boolean pullOk = verify(pulled, blockSize, blocks, false);
            out.printf("8. verify       every byte pulled: %s%n", pullOk ? "OK" : "MISMATCH");
            out.flush();
            return pushOk && pullOk ? 0 : 1;
        }
    }

    private static void report(final PrintWriter out, final String step, final TransferTelemetry t)
    {
        out.printf("%s %s in %d descriptor(s) after merging, %.1f us, %.2f GB/s%n",
            String.format("%-15s", step), human(t.totalBytes()), t.descriptorCount(),
            t.transferDuration().toNanos() / 1e3, t.bytesPerSecond() / 1e9);
    }

    private static DescList blockList(final MemorySegment base, final int blocks, final int blockSize)
    {
        final DescList.Builder b = DescList.builder(MemoryKind.DRAM, blocks);
        for (int i = 0; i < blocks; i++)
        {
            b.add(base.address() + (long)i * blockSize, blockSize);
        }
        return b.build();
    }

    private static void fillBlocks(final MemorySegment kv, final int blockSize)
    {
        for (long off = 0; off + 8 <= kv.byteSize(); off += 8)
        {
            kv.set(ValueLayout.JAVA_LONG_UNALIGNED, off, pattern(off / blockSize, off % blockSize));
        }
    }

    private static boolean verify(final MemorySegment seg, final int blockSize, final int blocks, final boolean reversed)
    {
        for (long off = 0; off + 8 <= seg.byteSize(); off += 8)
        {
            final long slot = off / blockSize;
            final long block = reversed ? blocks - 1 - slot : slot;
            if (seg.get(ValueLayout.JAVA_LONG_UNALIGNED, off) != pattern(block, off % blockSize))
            {
                return false;
            }
        }
        return true;
    }

    private static long pattern(final long block, final long offset)
    {
        return block * 0x9E3779B97F4A7C15L ^ offset * 0xC2B2AE3D27D4EB4FL;
    }

    static String human(final long bytes)
    {
        if (bytes >= 1L << 30)
        {
            return String.format("%.2f GiB", bytes / (double)(1L << 30));
        }
        if (bytes >= 1L << 20)
        {
            return String.format("%.2f MiB", bytes / (double)(1L << 20));
        }
        return bytes >= 1024 ? String.format("%.1f KiB", bytes / 1024.0) : bytes + " B";
    }
}
