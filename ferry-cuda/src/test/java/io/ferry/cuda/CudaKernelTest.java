package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.testing.ChildJvm;
import io.ferry.DescList;
import io.ferry.Fixtures;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batched copy kernel ({@code copy_kernel}): every size from 1 B to 64 MiB at random alignments, 131,072 blocks,
 * random permutations with the kernel and with the driver's copies giving the same bytes, pinned host memory both
 * ways, another process's VRAM through IPC, and a device fault in a child process. Every byte is checked, and the
 * bytes around each span too. Needs a GPU; skipped elsewhere.
 */
@Timeout(300)
class CudaKernelTest
{
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** Source and destination spans (addresses) with their lengths. */
    private record Spans(long[] src, long[] dst, long[] len)
    {
        int count()
        {
            return len.length;
        }
    }

    private static Agent agent(final String mode)
    {
        return Agent.create(AgentConfig.builder(Fixtures.unique("kernel-" + mode))
            .backend("CUDA", Map.of("copy_kernel", mode)).build());
    }

    private static DescList descs(final MemoryKind kind, final long[] addresses, final long[] lengths)
    {
        final DescList.Builder b = DescList.builder(kind, addresses.length);
        for (int i = 0; i < addresses.length; i++)
        {
            b.add(addresses[i], lengths[i], 0);
        }
        return b.build();
    }

    /**
     * Moves the spans from {@code srcBase} memory to {@code dstBase} memory with one transfer (WRITE: the source is
     * the local side; READ: the destination is), then returns the route the transfer took.
     */
    private static String move(final Agent agent, final TransferOp op, final MemoryKind srcKind,
        final MemoryKind dstKind, final Spans s)
    {
        final DescList from = descs(srcKind, s.src, s.len);
        final DescList to = descs(dstKind, s.dst, s.len);
        try (Transfer t = TransferOp.WRITE == op ? agent.createTransfer(op, from, to, agent.name(),
            TransferOptions.NONE) : agent.createTransfer(op, to, from, agent.name(), TransferOptions.NONE))
        {
            assertThat(t.backend()).isEqualTo("CUDA");
            t.post();
            t.await(WAIT);
            return t.telemetry().route();
        }
    }

    /** Checks that dst holds src's bytes at each span and the guard byte everywhere else. */
    private static void check(final MemorySegment srcHost, final long srcBase, final MemorySegment dstHost,
        final long dstBase, final Spans s, final byte guard)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            check(srcHost, srcBase, dstHost, dstBase, s, guard, scratch.allocate(dstHost.byteSize(), 4096));
        }
    }

    private static void check(final MemorySegment srcHost, final long srcBase, final MemorySegment dstHost,
        final long dstBase, final Spans s, final byte guard, final MemorySegment expected)
    {
        expected.fill(guard);
        for (int i = 0; i < s.count(); i++)
        {
            MemorySegment.copy(srcHost, s.src[i] - srcBase, expected, s.dst[i] - dstBase, s.len[i]);
        }
        final long at = expected.mismatch(dstHost);
        assertThat(at).as("first wrong byte of %d spans", s.count()).isEqualTo(-1L);
    }

    @Test
    void everySizeAtRandomAlignmentsBothWays()
    {
        Gpu.require();
        final long size = 80L << 20;
        final long a = Gpu.alloc(0, size);
        final long b = Gpu.alloc(0, size);
        final Random random = new Random(7);
        try (Arena arena = Arena.ofConfined(); Agent agent = agent("always"))
        {
            agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(a, size, 0), Region.ofAddress(b, size, 0)));
            final MemorySegment srcHost = arena.allocate(size, 4096);
            final MemorySegment dstHost = arena.allocate(size, 4096);
            final MemorySegment guard = arena.allocate(size, 4096);
            guard.fill((byte)0xEE);
            TestData.fill(srcHost, 11);
            Gpu.upload(0, a, srcHost);
            final long[] sizes = {1, 2, 3, 15, 16, 17, 31, 255, 4095, 4096, 4097, 65_535, 65_536, 65_537, 1 << 20,
                (1 << 20) + 7, 8L << 20, 64L << 20};
            for (final long n : sizes)
            {
                for (final TransferOp op : TransferOp.values())
                {
                    // up to three spans of this size, each at a random offset of source and destination
                    final int count = n > 16L << 20 ? 1 : 3;
                    final long[] src = new long[count];
                    final long[] dst = new long[count];
                    final long[] len = new long[count];
                    final long slot = size / count;
                    for (int i = 0; i < count; i++)
                    {
                        src[i] = a + i * slot + random.nextInt(64);
                        dst[i] = b + (count - 1 - i) * slot + random.nextInt(64);
                        len[i] = n;
                    }
                    Gpu.upload(0, b, guard);
                    final String route = move(agent, op, MemoryKind.VRAM, MemoryKind.VRAM, new Spans(src, dst, len));
                    assertThat(route).as("%d B %s", n, op).isEqualTo("copy kernel");
                    Gpu.download(0, dstHost, b);
                    check(srcHost, a, dstHost, b, new Spans(src, dst, len), (byte)0xEE);
                }
            }
        }
        finally
        {
            Gpu.free(0, a);
            Gpu.free(0, b);
        }
    }

    /** A random permutation of {@code count} blocks of random lengths (at most {@code max}) at random offsets. */
    private static Spans permutation(final Random random, final int count, final long max, final long srcBase,
        final long dstBase, final long size)
    {
        final long slot = size / count;
        final int[] order = TestData.permutation(count, random);
        final long[] src = new long[count];
        final long[] dst = new long[count];
        final long[] len = new long[count];
        for (int i = 0; i < count; i++)
        {
            len[i] = 1 + (long)(random.nextDouble() * Math.min(max, slot - 32));
            src[i] = srcBase + i * slot + random.nextInt((int)Math.min(32, slot - len[i]) + 1);
            dst[i] = dstBase + order[i] * slot + random.nextInt((int)Math.min(32, slot - len[i]) + 1);
        }
        return new Spans(src, dst, len);
    }

    @Test
    void kernelAndDriverCopiesGiveTheSameBytes()
    {
        Gpu.require();
        final long size = 512L << 20;
        final long a = Gpu.alloc(0, size);
        final long b = Gpu.alloc(0, size);
        try (Arena arena = Arena.ofConfined(); Agent kernel = agent("always"); Agent copies = agent("never"))
        {
            for (final Agent x : List.of(kernel, copies))
            {
                x.register(MemoryKind.VRAM, List.of(Region.ofAddress(a, size, 0), Region.ofAddress(b, size, 0)));
            }
            final MemorySegment srcHost = arena.allocate(size, 4096);
            final MemorySegment viaKernel = arena.allocate(size, 4096);
            final MemorySegment viaCopies = arena.allocate(size, 4096);
            final MemorySegment guard = arena.allocate(size, 4096);
            guard.fill((byte)0x5A);
            TestData.fill(srcHost, 29);
            Gpu.upload(0, a, srcHost);
            final Random random = new Random(31);
            // 131,072 blocks of exactly 4 KiB (aligned), then 4,096 blocks of random length and alignment
            final int blocks = 131_072;
            final long[] src = new long[blocks];
            final long[] dst = new long[blocks];
            final long[] len = new long[blocks];
            final int[] order = TestData.permutation(blocks, random);
            for (int i = 0; i < blocks; i++)
            {
                src[i] = a + i * 4096L;
                dst[i] = b + order[i] * 4096L;
                len[i] = 4096;
            }
            final List<Spans> cases = List.of(new Spans(src, dst, len),
                permutation(random, 4096, 100_000, a, b, size), permutation(random, 20_000, 3_000, a, b, size));
            for (final Spans s : cases)
            {
                for (final TransferOp op : TransferOp.values())
                {
                    Gpu.upload(0, b, guard);
                    assertThat(move(kernel, op, MemoryKind.VRAM, MemoryKind.VRAM, s)).isEqualTo("copy kernel");
                    Gpu.download(0, viaKernel, b);
                    Gpu.upload(0, b, guard);
                    assertThat(move(copies, op, MemoryKind.VRAM, MemoryKind.VRAM, s)).isNull();
                    Gpu.download(0, viaCopies, b);
                    assertThat(viaKernel.mismatch(viaCopies)).as("kernel vs copies, %d spans %s", s.count(), op)
                        .isEqualTo(-1L);
                    check(srcHost, a, viaKernel, b, s, (byte)0x5A);
                }
            }
        }
        finally
        {
            Gpu.free(0, a);
            Gpu.free(0, b);
        }
    }

    @Test
    void pinnedHostMemoryBothWays()
    {
        Gpu.require();
        final long size = 64L << 20;
        final long v = Gpu.alloc(0, size);
        try (Arena arena = Arena.ofShared(); Agent agent = agent("always"))
        {
            final MemorySegment host = arena.allocate(size, 4096);
            agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(v, size, 0)));
            agent.register(MemoryKind.DRAM, List.of(Region.of(host)));
            final MemorySegment model = arena.allocate(size, 4096);
            final MemorySegment seen = arena.allocate(size, 4096);
            final Random random = new Random(41);
            // host -> VRAM (WRITE from DRAM; READ into VRAM), then VRAM -> host
            for (final TransferOp op : TransferOp.values())
            {
                TestData.fill(host, 43 + op.ordinal());
                MemorySegment.copy(host, 0, model, 0, size);
                final MemorySegment guard = arena.allocate(size, 4096);
                guard.fill((byte)0x11);
                Gpu.upload(0, v, guard);
                final Spans toDevice = permutation(random, 8192, 8192, host.address(), v, size);
                final String route = TransferOp.WRITE == op ?
                    move(agent, op, MemoryKind.DRAM, MemoryKind.VRAM, toDevice) :
                    readInto(agent, MemoryKind.VRAM, MemoryKind.DRAM, toDevice);
                assertThat(route).isEqualTo("copy kernel");
                Gpu.download(0, seen, v);
                check(model, host.address(), seen, v, toDevice, (byte)0x11);

                TestData.fill(seen, 47 + op.ordinal());
                Gpu.upload(0, v, seen);
                host.fill((byte)0x22);
                final Spans toHost = permutation(random, 8192, 8192, v, host.address(), size);
                final String back = TransferOp.WRITE == op ?
                    move(agent, op, MemoryKind.VRAM, MemoryKind.DRAM, toHost) :
                    readInto(agent, MemoryKind.DRAM, MemoryKind.VRAM, toHost);
                assertThat(back).isEqualTo("copy kernel");
                check(seen, v, host, host.address(), toHost, (byte)0x22);
            }
        }
        finally
        {
            Gpu.free(0, v);
        }
    }

    /** A READ whose local side is the spans' destination (of {@code dstKind}) and remote side their source. */
    private static String readInto(final Agent agent, final MemoryKind dstKind, final MemoryKind srcKind,
        final Spans s)
    {
        try (Transfer t = agent.createTransfer(TransferOp.READ, descs(dstKind, s.dst, s.len),
            descs(srcKind, s.src, s.len), agent.name(), TransferOptions.NONE))
        {
            t.post();
            t.await(WAIT);
            return t.telemetry().route();
        }
    }

    @Test
    void anotherProcesssVramThroughIpcBothWays() throws Exception
    {
        scatteredBothWays("kernel-ipc", "CUDA", "copy kernel");
    }

    /** Over TCP, VRAM pieces are staged through pinned buffers: many small ones go by one launch per chunk. */
    @Test
    void manySmallVramBlocksOverTcpBothWays() throws Exception
    {
        final long before = StagingGather.launches();
        scatteredBothWays("kernel-tcp", "TCP", null);
        assertThat(StagingGather.launches()).as("staging kernel launches").isGreaterThan(before);
    }

    /**
     * 4,096 blocks of 16 KiB, this side's block i to and from the child's block perm(i), READ then WRITE with a
     * notification; every block checked here, the child's whole VRAM by its CRC.
     */
    private static void scatteredBothWays(final String prefix, final String backend, final String route)
        throws Exception
    {
        final long size = 64L << 20;
        try (PeerVram p = new PeerVram(prefix, backend, size); Arena arena = Arena.ofConfined())
        {
            final int blocks = 4096;
            final long block = size / blocks;
            final int[] order = TestData.permutation(blocks, new Random(53));
            final long[] mine = new long[blocks];
            final long[] theirs = new long[blocks];
            final long[] len = new long[blocks];
            for (int i = 0; i < blocks; i++)
            {
                mine[i] = p.mine + i * block;
                theirs[i] = p.theirs + order[i] * block;
                len[i] = block;
            }
            final DescList local = descs(MemoryKind.VRAM, mine, len);
            final DescList.Builder rb = DescList.builder(MemoryKind.VRAM, blocks);
            for (int i = 0; i < blocks; i++)
            {
                rb.add(theirs[i], block, p.peerDevice);
            }
            final DescList remoteBlocks = rb.build();
            // READ: block i here is the child's block order[i] (the child filled its VRAM with seed 1)
            final MemorySegment childModel = arena.allocate(size, 4096);
            TestData.fill(childModel, 1);
            final MemorySegment seen = arena.allocate(size, 4096);
            try (Transfer read = p.agent.createTransfer(TransferOp.READ, local, remoteBlocks, p.name,
                TransferOptions.NONE))
            {
                assertThat(read.backend()).isEqualTo(backend);
                read.post();
                read.await(WAIT);
                assertThat(read.telemetry().route()).isEqualTo(route);
            }
            Gpu.download(0, seen, p.mine);
            for (int i = 0; i < blocks; i++)
            {
                assertThat(MemorySegment.mismatch(seen, i * block, (i + 1) * block, childModel,
                    order[i] * block, (order[i] + 1) * block)).as("block %d", i).isEqualTo(-1L);
            }
            // WRITE: new bytes here, block i to the child's block order[i]; the child's CRC must match the model
            TestData.fill(seen, 59);
            Gpu.upload(0, p.mine, seen);
            for (int i = 0; i < blocks; i++)
            {
                MemorySegment.copy(seen, i * block, childModel, order[i] * block, block);
            }
            try (Transfer write = p.agent.createTransfer(TransferOp.WRITE, local, remoteBlocks, p.name,
                TransferOptions.notify("blocks".getBytes(java.nio.charset.StandardCharsets.UTF_8))))
            {
                write.post();
                write.await(WAIT);
                assertThat(write.telemetry().route()).isEqualTo(route);
            }
            assertThat(p.peer.command("notif", 30)).isEqualTo("blocks");
            assertThat(Long.parseLong(p.peer.command("crc", 30))).isEqualTo(Gpu.crc(childModel));
        }
    }

    @Test
    void aDeviceFaultFailsThePostAndNamesTheLostContext() throws Exception
    {
        Gpu.require();
        try (ChildJvm child = new ChildJvm(List.of(), KernelFaultMain.class))
        {
            final List<String> lines = new ArrayList<>();
            String line;
            while (null != (line = child.line(120)) && !line.startsWith("CLOSED"))
            {
                lines.add(line);
            }
            assertThat(line).as("child output %s", lines).isEqualTo("CLOSED");
            assertThat(lines).as("child output").anySatisfy(l -> assertThat(l).startsWith("FIRST ok"));
            assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("FAILED ").contains("CUDA_ERROR_")
                .contains("context is lost"));
            assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("REFUSED ").contains("restart"));
            assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("LIMITATIONS ").contains("CUDA_ERROR_"));
        }
    }
}
