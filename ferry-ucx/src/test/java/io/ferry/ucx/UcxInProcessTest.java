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
            io.ferry.contract.InProcessContract.writeReadAndNotify(arena, a, b, "UCX");
            b.loadRemoteMetadata(a.localMetadata());
            b.sendNotification(a.name(), "hello".getBytes(StandardCharsets.UTF_8));
            assertThat(a.awaitNotification(Duration.ofSeconds(10)).payloadAsString()).isEqualTo("hello");
        }
        assertThat(liveThreads(an) + liveThreads(bn)).as("threads left after close").isZero();
    }
}
