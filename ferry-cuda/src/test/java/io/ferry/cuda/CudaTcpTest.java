package io.ferry.cuda;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * VRAM over the TCP backend between two processes: bytes staged through pinned host memory on both sides, one
 * large descriptor and hundreds of scattered small ones, READ and WRITE, checked by CRC on the other side. Needs a
 * GPU; skipped elsewhere.
 */
@Timeout(180)
class CudaTcpTest
{
    private static final long SIZE = 32L << 20;

    @Test
    void vramMovesOverTcpBothWays() throws Exception
    {
        Gpu.require();
        final int peerDevice = Gpu.devices() > 1 ? 1 : 0;
        final long mine = Gpu.alloc(0, SIZE);
        try (Arena arena = Arena.ofConfined();
            CudaPeer peer = new CudaPeer(Fixtures.unique("tcp-child"), peerDevice, SIZE, "TCP", "VRAM");
            Agent agent = Agent.create(AgentConfig.builder(Fixtures.unique("tcp-parent")).backends("TCP").build()))
        {
            agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(mine, SIZE, 0)));
            final String name = agent.loadRemoteMetadata(peer.metadata);
            final long theirs = agent.peerRegions(name, MemoryKind.VRAM).address(0);

            final Transfer read = agent.createTransfer(TransferOp.READ, DescList.of(MemoryKind.VRAM,
                new MemoryDesc(mine, SIZE, 0)), DescList.of(MemoryKind.VRAM, new MemoryDesc(theirs, SIZE, peerDevice)),
                name, TransferOptions.NONE);
            assertThat(read.backend()).isEqualTo("TCP");
            read.post();
            read.await(Duration.ofSeconds(60));
            final MemorySegment host = arena.allocate(SIZE, 4096);
            Gpu.download(0, host, mine);
            assertThat(Gpu.crc(host)).isEqualTo(Long.parseLong(peer.command("crc", 30)));

            // scattered: 600 pieces of random sizes, written to a reversed layout on the peer
            Fixtures.fill(host, 5);
            Gpu.upload(0, mine, host);
            final Random rnd = new Random(3);
            final DescList.Builder l = DescList.builder(MemoryKind.VRAM, 600);
            final DescList.Builder r = DescList.builder(MemoryKind.VRAM, 600);
            final MemorySegment peerNow = arena.allocate(SIZE, 4096);
            Fixtures.fill(peerNow, 1); // what the peer holds: its own fill, which we only read so far
            long at = 0;
            for (int k = 0; k < 600; k++)
            {
                final int len = 1 + rnd.nextInt(50_000);
                final long dst = SIZE - at - len;
                l.add(new MemoryDesc(mine + at, len, 0));
                r.add(new MemoryDesc(theirs + dst, len, peerDevice));
                MemorySegment.copy(host, at, peerNow, dst, len);
                at += len;
            }
            final Transfer write = agent.createTransfer(TransferOp.WRITE, l.build(), r.build(), name,
                TransferOptions.notify("vram-over-tcp".getBytes(StandardCharsets.UTF_8)));
            write.post();
            write.await(Duration.ofSeconds(60));
            assertThat(peer.command("notif", 30)).isEqualTo("vram-over-tcp");
            assertThat(Long.parseLong(peer.command("crc", 30))).isEqualTo(Gpu.crc(peerNow));
        }
        finally
        {
            Gpu.free(0, mine);
        }
    }
}
