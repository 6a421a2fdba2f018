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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Another process's VRAM through CUDA IPC: this agent READs the child's VRAM into its own and WRITEs new bytes
 * back, with a notification; the child checks. Needs a GPU; skipped elsewhere.
 */
@Timeout(180)
class CudaIpcTest
{
    private static final long SIZE = 32L << 20;

    @Test
    void readAndWriteAnotherProcesssVram() throws Exception
    {
        Gpu.require();
        final int peerDevice = Gpu.devices() > 1 ? 1 : 0;
        final long mine = Gpu.alloc(0, SIZE);
        try (Arena arena = Arena.ofConfined();
            CudaPeer peer = new CudaPeer(Fixtures.unique("gpu-child"), peerDevice, SIZE);
            Agent agent = Agent.create(AgentConfig.builder(Fixtures.unique("gpu-parent")).backends("CUDA").build()))
        {
            agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(mine, SIZE, 0)));
            final String name = agent.loadRemoteMetadata(peer.metadata);
            final DescList local = DescList.of(MemoryKind.VRAM, new MemoryDesc(mine, SIZE, 0));
            final long theirs = agent.peerRegions(name, MemoryKind.VRAM).address(0);
            final DescList remote = DescList.of(MemoryKind.VRAM, new MemoryDesc(theirs, SIZE, peerDevice));

            final Transfer read = agent.createTransfer(TransferOp.READ, local, remote, name, TransferOptions.NONE);
            assertThat(read.backend()).isEqualTo("CUDA");
            read.post();
            read.await(Duration.ofSeconds(30));
            final MemorySegment host = arena.allocate(SIZE, 4096);
            Gpu.download(0, host, mine);
            assertThat(Gpu.crc(host)).isEqualTo(Long.parseLong(peer.command("crc", 30)));

            Fixtures.fill(host, 77);
            Gpu.upload(0, mine, host);
            final Transfer write = agent.createTransfer(TransferOp.WRITE, local, remote, name,
                TransferOptions.notify("written".getBytes(StandardCharsets.UTF_8)));
            write.post();
            write.await(Duration.ofSeconds(30));
            assertThat(peer.command("notif", 30)).isEqualTo("written");
            assertThat(Long.parseLong(peer.command("crc", 30))).isEqualTo(Gpu.crc(host));
        }
        finally
        {
            Gpu.free(0, mine);
        }
    }
}
