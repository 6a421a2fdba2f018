package io.ferry.cuda;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.PathStats;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * VRAM over TCP against DRAM over TCP on loopback, in one JVM with one pair of agents per configuration, so both
 * memory kinds see the same connections, JIT state and host: after a warm-up of each case, rounds of timed windows
 * of back-to-back transfers (WRITE DRAM, WRITE VRAM, READ DRAM, READ VRAM in turn), medians printed with the
 * VRAM/DRAM ratio and each path's final state. Interleaving matters: separate short runs of the two kinds differed
 * by more than the effect being measured.
 * <p>
 * Run on a GPU machine: {@code java -cp ... io.ferry.cuda.TcpVramBench [CONFIG ...]} where a CONFIG is
 * {@code default} or TCP parameters {@code key=value,key=value}; system properties {@code mib} (transfer size,
 * default 64), {@code rounds} (default 5), {@code windowMs} (default 1500) and {@code buffers} (default 1: how many
 * distinct buffer pairs of each kind a case cycles through, so that its working set can be made larger than the
 * host's last-level cache, as a real KV cache's is).
 */
public final class TcpVramBench
{
    private TcpVramBench()
    {
    }

    /**
     * @param args configurations.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        Gpu.require();
        final long bytes = Long.getLong("mib", 64) << 20;
        final int rounds = Integer.getInteger("rounds", 5);
        final long windowMs = Long.getLong("windowMs", 1500);
        final int buffers = Integer.getInteger("buffers", 1);
        for (final String config : 0 == args.length ? new String[] {"default"} : args)
        {
            run(config, params(config), bytes, rounds, windowMs, buffers);
        }
    }

    private static Map<String, String> params(final String config)
    {
        final Map<String, String> params = new LinkedHashMap<>();
        if (!"default".equals(config))
        {
            for (final String kv : config.split(","))
            {
                final String[] p = kv.split("=", 2);
                params.put(p[0], p[1]);
            }
        }
        return params;
    }

    private static void run(final String config, final Map<String, String> params, final long bytes,
        final int rounds, final long windowMs, final int buffers)
    {
        final long total = bytes * buffers;
        try (Arena arena = Arena.ofShared();
            VramBuffer va = VramBuffer.allocate(0, total);
            VramBuffer vb = VramBuffer.allocate(0, total);
            Agent a = Agent.create(AgentConfig.builder("vram-bench-a").backend("TCP", params).build());
            Agent b = Agent.create(AgentConfig.builder("vram-bench-b").backend("TCP", params).build()))
        {
            final MemorySegment da = arena.allocate(total, 4096);
            final MemorySegment db = arena.allocate(total, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(da)));
            b.register(MemoryKind.DRAM, List.of(Region.of(db)));
            a.register(MemoryKind.VRAM, List.of(Region.ofAddress(va.address(), total, 0)));
            b.register(MemoryKind.VRAM, List.of(Region.ofAddress(vb.address(), total, 0)));
            final String peer = a.loadRemoteMetadata(b.localMetadata());
            final Map<String, Transfer[]> cases = new LinkedHashMap<>();
            for (final TransferOp op : new TransferOp[] {TransferOp.WRITE, TransferOp.READ})
            {
                final Transfer[] dram = new Transfer[buffers];
                final Transfer[] vram = new Transfer[buffers];
                for (int i = 0; i < buffers; i++)
                {
                    final long at = i * bytes;
                    dram[i] = a.createTransfer(op, desc(MemoryKind.DRAM, da.address() + at, bytes),
                        desc(MemoryKind.DRAM, db.address() + at, bytes), peer, TransferOptions.NONE);
                    vram[i] = a.createTransfer(op, desc(MemoryKind.VRAM, va.address() + at, bytes),
                        desc(MemoryKind.VRAM, vb.address() + at, bytes), peer, TransferOptions.NONE);
                }
                cases.put(op + " DRAM", dram);
                cases.put(op + " VRAM", vram);
            }
            for (final Transfer[] t : cases.values())
            {
                gbps(t, bytes, 1000);
            }
            final Map<String, List<Double>> got = new LinkedHashMap<>();
            for (int r = 0; r < rounds; r++)
            {
                for (final Map.Entry<String, Transfer[]> e : cases.entrySet())
                {
                    got.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(gbps(e.getValue(), bytes, windowMs));
                }
            }
            final StringBuilder line = new StringBuilder(String.format("%d MiB %s%s", bytes >> 20, config,
                1 == buffers ? "" : " x" + buffers + " buffers"));
            for (final String op : new String[] {"WRITE", "READ"})
            {
                final double dram = CudaBench.median(got.get(op + " DRAM").stream().mapToDouble(d -> d).toArray());
                final double vram = CudaBench.median(got.get(op + " VRAM").stream().mapToDouble(d -> d).toArray());
                line.append(String.format(" | %s DRAM %.2f VRAM %.2f GB/s ratio %.2f", op, dram, vram, vram / dram));
            }
            System.out.println(line);
            for (final PathStats s : a.pathStats())
            {
                System.out.printf("    path %d: window %d B, smoothed RTT %.0f us, %.0f MB acknowledged%n", s.path(),
                    s.windowBytes(), s.smoothedRttNs() / 1e3, s.bytesAcked() / 1e6);
            }
        }
    }

    private static DescList desc(final MemoryKind kind, final long address, final long bytes)
    {
        return DescList.of(kind, new MemoryDesc(address, bytes, 0));
    }

    /**
     * Back-to-back post and await for at least {@code ms}, cycling through the transfers; bytes moved per
     * nanosecond (GB/s).
     */
    private static double gbps(final Transfer[] transfers, final long bytes, final long ms)
    {
        final long start = System.nanoTime();
        final long end = start + ms * 1_000_000L;
        long n = 0;
        long now;
        do
        {
            final Transfer t = transfers[(int)(n % transfers.length)];
            t.post();
            t.await(Duration.ofSeconds(60));
            n++;
            now = System.nanoTime();
        }
        while (now - end < 0);
        return n * bytes / (double)(now - start);
    }
}
