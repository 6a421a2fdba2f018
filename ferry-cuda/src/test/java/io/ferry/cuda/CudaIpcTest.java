package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.Fixtures;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

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
        try (PeerVram p = new PeerVram("gpu", "CUDA", SIZE))
        {
            final MemorySegment host = p.readAllAndCheck("CUDA", Duration.ofSeconds(30));

            TestData.fill(host, 77);
            Gpu.upload(0, p.mine, host);
            final Transfer write = p.agent.createTransfer(TransferOp.WRITE, p.local(), p.remote(), p.name,
                TransferOptions.notify("written".getBytes(StandardCharsets.UTF_8)));
            write.post();
            write.await(Duration.ofSeconds(30));
            assertThat(p.peer.command("notif", 30)).isEqualTo("written");
            assertThat(Long.parseLong(p.peer.command("crc", 30))).isEqualTo(Gpu.crc(host));
        }
    }
}
