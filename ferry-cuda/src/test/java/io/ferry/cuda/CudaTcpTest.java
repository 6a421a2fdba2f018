package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.DescList;
import io.ferry.Fixtures;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
        try (PeerVram p = new PeerVram("tcp", "TCP", SIZE))
        {
            final MemorySegment host = p.readAllAndCheck("TCP", Duration.ofSeconds(60));

            // scattered: 600 pieces of random sizes, written to a reversed layout on the peer
            TestData.fill(host, 5);
            Gpu.upload(0, p.mine, host);
            final Random rnd = new Random(3);
            final DescList.Builder l = DescList.builder(MemoryKind.VRAM, 600);
            final DescList.Builder r = DescList.builder(MemoryKind.VRAM, 600);
            final MemorySegment peerNow = p.arena.allocate(SIZE, 4096);
            TestData.fill(peerNow, 1); // what the peer holds: its own fill, which we only read so far
            long at = 0;
            for (int k = 0; k < 600; k++)
            {
                final int len = 1 + rnd.nextInt(50_000);
                final long dst = SIZE - at - len;
                l.add(new MemoryDesc(p.mine + at, len, 0));
                r.add(new MemoryDesc(p.theirs + dst, len, p.peerDevice));
                MemorySegment.copy(host, at, peerNow, dst, len);
                at += len;
            }
            final Transfer write = p.agent.createTransfer(TransferOp.WRITE, l.build(), r.build(), p.name,
                TransferOptions.notify("vram-over-tcp".getBytes(StandardCharsets.UTF_8)));
            write.post();
            write.await(Duration.ofSeconds(60));
            assertThat(p.peer.command("notif", 30)).isEqualTo("vram-over-tcp");
            assertThat(Long.parseLong(p.peer.command("crc", 30))).isEqualTo(Gpu.crc(peerNow));
        }
    }
}
