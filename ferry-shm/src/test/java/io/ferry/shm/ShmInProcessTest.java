package io.ferry.shm;


import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.Registration;
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

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.Fixtures.expectError;
import static io.ferry.testing.TestData.fill;
import static io.ferry.shm.ShmFixtures.liveThreads;
import static io.ferry.shm.ShmFixtures.shmAgent;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SHM between two agents of one process and to the agent itself: the same API as between processes, copies
 * straight into the peer's registered segment.
 */
@Timeout(60)
class ShmInProcessTest
{
    @Test
    void writeReadAndNotifyBetweenTwoAgentsOfOneProcess() throws Exception
    {
        try (Arena arena = Arena.ofShared(); Agent a = shmAgent("a"); Agent b = shmAgent("b"))
        {
            io.ferry.contract.InProcessContract.writeReadAndNotify(arena, a, b, "SHM");
        }
    }

    @Test
    void toItselfAndFromSharedArenaMemory() throws Exception
    {
        try (ShmArena shm = ShmArena.open(); Agent a = shmAgent("self"))
        {
            final MemorySegment m = shm.allocate(3 << 20);
            a.register(MemoryKind.DRAM, List.of(Region.of(m)));
            fill(m.asSlice(0, 1 << 20), 3);
            final Transfer t = a.createTransfer(TransferOp.WRITE, DescList.dram(m.asSlice(0, 1 << 20)),
                DescList.dram(m.asSlice(2 << 20, 1 << 20)), a.name(), TransferOptions.notify(new byte[]{1}));
            t.post();
            t.await(Duration.ofSeconds(10));
            assertSameBytes(m.asSlice(0, 1 << 20), m.asSlice(2 << 20, 1 << 20));
            assertThat(a.awaitNotification(Duration.ofSeconds(5)).sender()).isEqualTo(a.name());
        }
    }

    @Test
    void aRegionDeregisteredByThePeerIsRefusedAtPost() throws Exception
    {
        try (Arena arena = Arena.ofShared(); Agent a = shmAgent("a"); Agent b = shmAgent("b"))
        {
            final MemorySegment la = arena.allocate(1 << 16, 4096);
            final MemorySegment lb = arena.allocate(1 << 16, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(la)));
            final Registration reg = b.register(MemoryKind.DRAM, List.of(Region.of(lb)));
            a.loadRemoteMetadata(b.localMetadata());
            final Transfer w = a.createTransfer(TransferOp.WRITE, DescList.dram(la), DescList.dram(lb), b.name(),
                null);
            reg.close();
            assertThat(expectError(ErrorCode.NOT_FOUND, w::post)).hasMessageContaining("deregistered");
        }
    }

    @Test
    void closeStopsEveryThreadAndBadParametersAreNamed()
    {
        final Agent a = shmAgent("close");
        final String name = a.name();
        assertThat(liveThreads(name)).isPositive();
        a.close();
        assertThat(liveThreads(name)).isZero();
        expectError(ErrorCode.INVALID_PARAM, () -> shmAgent("bad", "copy_threads", "0"));
        expectError(ErrorCode.INVALID_PARAM, () -> shmAgent("bad", "timeout_ms", "soon"));
        assertThat(Agent.backendInfo("SHM").memoryKinds()).containsExactly(MemoryKind.DRAM);
        assertThat(Agent.availableBackends()).containsSubsequence("LOCAL", "SHM", "TCP");
    }
}
