package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.Fixtures;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.file.FileRegions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * VRAM to and from a file through the FILE backend, staged through the CUDA backend's pinned host buffers: one large
 * span and scattered small ones, written and read back into other VRAM, every byte compared. Needs a GPU; skipped
 * elsewhere.
 */
@Timeout(120)
class CudaFileTest
{
    private static final long SIZE = 64L << 20;

    @Test
    void vramIsOffloadedToAFileAndReloaded(@TempDir final Path dir)
    {
        Gpu.require();
        final long src = Gpu.alloc(0, SIZE);
        final long dst = Gpu.alloc(0, SIZE);
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder(Fixtures.unique("cuda-file")).backend("FILE", Map.of())
                .defaultTimeout(Duration.ofSeconds(30)).build()))
        {
            final MemorySegment host = arena.allocate(SIZE, 4096);
            TestData.fill(host, 21);
            Gpu.upload(0, src, host);
            agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(src, SIZE, 0), Region.ofAddress(dst, SIZE, 0)));
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(dir.resolve("vram.bin"), 1,
                FileRegions.FileAccess.CREATE)));
            move(agent, TransferOp.WRITE, DescList.of(MemoryKind.VRAM, new MemoryDesc(src, SIZE, 0)), 0, SIZE);
            final Transfer read = move(agent, TransferOp.READ, DescList.of(MemoryKind.VRAM,
                new MemoryDesc(dst, SIZE, 0)), 0, SIZE);
            assertThat(read.telemetry().route()).contains("VRAM staged");
            final MemorySegment back = arena.allocate(SIZE, 4096);
            Gpu.download(0, back, dst);
            assertThat(Gpu.crc(back)).isEqualTo(Gpu.crc(host));
            // 300 scattered spans of odd sizes, out of order in the file
            final DescList.Builder v = DescList.builder(MemoryKind.VRAM, 300);
            final DescList.Builder f = DescList.builder(MemoryKind.FILE, 300);
            long at = 0;
            for (int k = 0; k < 300; k++)
            {
                final int len = 1 + (k * 7919) % 100_000;
                v.add(new MemoryDesc(src + at, len, 0));
                f.add(new MemoryDesc(SIZE - at - len, len, 1));
                at += len;
            }
            final Transfer w = agent.createTransfer(TransferOp.WRITE, v.build(), f.build(), agent.name(),
                TransferOptions.NONE);
            w.post();
            w.await(Duration.ofSeconds(30));
            final DescList.Builder v2 = DescList.builder(MemoryKind.VRAM, 300);
            at = 0;
            for (int k = 0; k < 300; k++)
            {
                final int len = 1 + (k * 7919) % 100_000;
                v2.add(new MemoryDesc(dst + at, len, 0));
                at += len;
            }
            final Transfer r = agent.createTransfer(TransferOp.READ, v2.build(), f.build(), agent.name(),
                TransferOptions.NONE);
            r.post();
            r.await(Duration.ofSeconds(30));
            Gpu.download(0, back, dst);
            assertThat(MemorySegment.mismatch(back, 0, at, host, 0, at)).isEqualTo(-1);
        }
        finally
        {
            Gpu.free(0, src);
            Gpu.free(0, dst);
        }
    }

    private static Transfer move(final Agent agent, final TransferOp op, final DescList vram, final long offset,
        final long length)
    {
        final Transfer t = agent.createTransfer(op, vram, DescList.builder(MemoryKind.FILE).add(offset, length, 1)
            .build(), agent.name(), TransferOptions.NONE);
        t.post();
        t.await(Duration.ofSeconds(30));
        return t;
    }
}
