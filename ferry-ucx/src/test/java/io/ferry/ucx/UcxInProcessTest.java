package io.ferry.ucx;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.testing.TestData.fill;
import static io.ferry.ucx.UcxFixtures.liveThreads;
import static io.ferry.ucx.UcxFixtures.ucxAgent;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * UCX between two agents of one process, on each transport that runs here.
 */
@Timeout(120)
@org.junit.jupiter.api.extension.ExtendWith(UcxLeakCheck.class)
class UcxInProcessTest
{
    @ParameterizedTest
    @ValueSource(strings = {"tcp", "posix,self", "sysv,self", "posix,tcp"})
    void writeReadAndNotifyBetweenTwoAgents(final String tls) throws Exception
    {
        final String an;
        final String bn;
        try (Arena arena = Arena.ofShared(); Agent a = ucxAgent("a", tls); Agent b = ucxAgent("b", tls))
        {
            an = a.name();
            bn = b.name();
            final MemorySegment la = arena.allocate(8 << 20, 4096);
            final MemorySegment lb = arena.allocate(8 << 20, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(la)));
            b.register(MemoryKind.DRAM, List.of(Region.of(lb)));
            a.loadRemoteMetadata(b.localMetadata());
            b.loadRemoteMetadata(a.localMetadata());
            fill(la, 7);
            final Transfer w = a.createTransfer(TransferOp.WRITE, DescList.dram(la), DescList.dram(lb), b.name(),
                TransferOptions.notify("done".getBytes(StandardCharsets.UTF_8)));
            w.post();
            w.await(Duration.ofSeconds(30));
            assertThat(w.backend()).isEqualTo("UCX");
            assertSameBytes(la, lb);
            final Notification n = b.awaitNotification(Duration.ofSeconds(10));
            assertThat(n.sender()).isEqualTo(a.name());
            assertThat(n.payloadAsString()).isEqualTo("done");

            fill(lb.asSlice(4096, 100_000), 9);
            final Transfer r = a.createTransfer(TransferOp.READ, DescList.dram(la.asSlice(0, 100_000)),
                DescList.dram(lb.asSlice(4096, 100_000)), b.name(), null);
            r.post();
            r.await(Duration.ofSeconds(30));
            assertSameBytes(lb.asSlice(4096, 100_000), la.asSlice(0, 100_000));

            b.sendNotification(a.name(), "hello".getBytes(StandardCharsets.UTF_8));
            assertThat(a.awaitNotification(Duration.ofSeconds(10)).payloadAsString()).isEqualTo("hello");
            System.out.println(UcxTransports.summary());
        }
        assertThat(liveThreads(an) + liveThreads(bn)).as("threads left after close").isZero();
    }
}
