package io.ferry.tcp;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;

import static io.ferry.tcp.TcpFixtures.tcpAgent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The CRC32C resend path end to end, through real sockets: a target that reports a damaged chunk gets it again, and
 * one that reports every chunk damaged fails the request after the retries, naming the peer and the chunk.
 */
@Timeout(60)
class TcpCrcResendTest
{
    private final Arena arena = Arena.ofShared();
    private Agent initiator;

    @AfterEach
    void tearDown()
    {
        if (null != initiator)
        {
            initiator.close();
        }
        arena.close();
    }

    private Transfer writeTo(final FakeTarget fake, final int bytes)
    {
        initiator = tcpAgent("crc", "paths", "1", "reconnect_interval_ms", "0");
        final MemorySegment local = arena.allocate(bytes, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = initiator.loadRemoteMetadata(fake.metadata());
        return initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.builder(MemoryKind.DRAM).add(0x7000_0000L, bytes).build(), peer, null);
    }

    @Test
    void aChunkReportedDamagedIsSentAgainAndTheWriteCompletes() throws Exception
    {
        try (FakeTarget fake = new FakeTarget(io.ferry.Fixtures.unique("crc-once"),
            p -> FakeTarget.Behaviour.CRC_MISMATCH_ONCE))
        {
            final Transfer t = writeTo(fake, 256 << 10);
            t.post();
            t.await(Duration.ofSeconds(20));
            assertThat(fake.dataFrames.get()).as("the one chunk, then again").isEqualTo(2);
        }
    }

    @Test
    void aChunkDamagedEveryTimeFailsTheRequestAfterTheRetries() throws Exception
    {
        try (FakeTarget fake = new FakeTarget(io.ferry.Fixtures.unique("crc-always"),
            p -> FakeTarget.Behaviour.CRC_MISMATCH_ALWAYS))
        {
            final Transfer t = writeTo(fake, 256 << 10);
            t.post();
            final FerryException ex = catchThrowableOfType(FerryException.class,
                () -> t.await(Duration.ofSeconds(20)));
            assertThat(ex).isNotNull();
            assertThat(ex.getMessage()).contains("CRC_MISMATCH").contains("peer '" + fake.name + "'");
            assertThat(fake.dataFrames.get()).as("first send and every retry")
                .isEqualTo(1 + LinkScheduler.MAX_CRC_RETRIES);
        }
    }
}
