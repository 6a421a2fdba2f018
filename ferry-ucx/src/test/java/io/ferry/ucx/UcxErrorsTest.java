package io.ferry.ucx;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
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
import java.util.List;
import java.util.Map;

import static io.ferry.Fixtures.unique;
import static io.ferry.ucx.UcxFixtures.assumeUcx;
import static io.ferry.ucx.UcxFixtures.liveThreads;
import static io.ferry.ucx.UcxFixtures.ucxAgent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What a user gets wrong and what UCX refuses: each is an error that names the cause, nothing leaks.
 */
@Timeout(120)
@org.junit.jupiter.api.extension.ExtendWith(UcxLeakCheck.class)
class UcxErrorsTest
{
    @Test
    void aSettingUcxRefusesIsNamed()
    {
        assumeUcx();
        final FerryException ex = catchThrowableOfType(FerryException.class, () -> Agent.create(AgentConfig
            .builder(unique("bad")).backend("UCX", Map.of("UCX_RNDV_THRESH", "lots")).listenPort(-1).build()));
        assertThat(ex).isNotNull();
        assertThat(ex.getMessage()).contains("UCX_RNDV_THRESH=lots");
        final FerryException unknown = catchThrowableOfType(FerryException.class, () -> Agent.create(AgentConfig
            .builder(unique("bad")).backend("UCX", Map.of("progress", "sometimes")).listenPort(-1).build()));
        assertThat(unknown.getMessage()).contains("progress=sometimes");
    }

    @Test
    void vramIsRefusedWithTheReasonWhereUcxIsNotCudaAware()
    {
        try (Agent a = ucxAgent("vram", "tcp"))
        {
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> a.register(MemoryKind.VRAM,
                List.of(Region.ofAddress(0x7f0000000000L, 1 << 20, 0))));
            assertThat(ex).isNotNull();
            assertThat(ex.getMessage()).contains("CUDA-aware");
        }
    }

    @Test
    void anUnreachablePeerFailsThePostWithUcxsStatusAndTheOversizedNotificationIsRefused()
    {
        try (Arena arena = Arena.ofShared(); Agent a = ucxAgent("shm-only", "posix,self");
            Agent b = ucxAgent("tcp-only", "tcp", "max_notification_bytes", "16"))
        {
            final MemorySegment la = arena.allocate(1 << 20, 4096);
            final MemorySegment lb = arena.allocate(1 << 20, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(la)));
            b.register(MemoryKind.DRAM, List.of(Region.of(lb)));
            a.loadRemoteMetadata(b.localMetadata());
            final Transfer t = a.createTransfer(TransferOp.WRITE, DescList.dram(la), DescList.dram(lb), b.name(),
                TransferOptions.NONE);
            t.post();
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(10)));
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
            assertThat(ex.getMessage()).contains(b.name()).contains("UCS -6");

            b.loadRemoteMetadata(a.localMetadata());
            final FerryException big = catchThrowableOfType(FerryException.class,
                () -> b.sendNotification(a.name(), new byte[17]));
            assertThat(big).isNotNull();
            assertThat(big.code()).isEqualTo(ErrorCode.INVALID_PARAM);
            assertThat(big.getMessage()).contains("max_notification_bytes=16");
        }
    }

    @Test
    void closingWithPostsInFlightCancelsThemAndLeavesNoThread() throws Exception
    {
        final String an;
        try (Arena arena = Arena.ofShared(); Agent b = ucxAgent("target", "tcp"))
        {
            final MemorySegment la = arena.allocate(64 << 20, 4096);
            final MemorySegment lb = arena.allocate(64 << 20, 4096);
            b.register(MemoryKind.DRAM, List.of(Region.of(lb)));
            final Agent a = ucxAgent("closing", "tcp");
            an = a.name();
            a.register(MemoryKind.DRAM, List.of(Region.of(la)));
            a.loadRemoteMetadata(b.localMetadata());
            final Transfer t = a.createTransfer(TransferOp.WRITE, DescList.dram(la), DescList.dram(lb), b.name(),
                TransferOptions.NONE);
            // one transfer first, so that the connection's handshake is over on both sides: UCX 1.13.1 aborts the
            // process whose half of a handshake is cut (an assertion removed in UCX 1.14, openucx/ucx#8175)
            t.post();
            t.await(Duration.ofSeconds(30));
            t.post();
            a.close();
            try
            {
                t.await(Duration.ofSeconds(10));
            }
            catch (final FerryException ex)
            {
                assertThat(ex.code()).isIn(ErrorCode.CANCELED, ErrorCode.REMOTE_DISCONNECT);
            }
        }
        assertThat(liveThreads(an)).as("threads of the closed agent").isZero();
    }
}
