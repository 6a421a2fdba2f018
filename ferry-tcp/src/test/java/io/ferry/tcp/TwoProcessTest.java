package io.ferry.tcp;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

import static io.ferry.testing.TestData.fill;
import static io.ferry.tcp.TcpFixtures.liveThreads;
import static io.ferry.tcp.TcpFixtures.tcpAgent;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Two agents in two JVM processes over TCP on loopback, metadata exchanged through files: what only TCP promises
 * (its path threads end with a dead peer, a frozen peer is caught by the acknowledgement deadline). Sizes, descriptor
 * lists, notifications after data and peer loss are the shared {@link TcpContractTest}.
 */
@Timeout(180)
class TwoProcessTest
{
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    private Arena arena;
    private Agent agent;
    private MemorySegment local;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        agent = tcpAgent("parent", "ack_timeout_ms", "3000");
        local = arena.allocate(SIZE, 4096);
        agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
    }

    @AfterEach
    void tearDown()
    {
        final String name = agent.name();
        agent.close();
        arena.close();
        assertThat(liveThreads(name)).as("threads left after close").isZero();
    }

    private long remoteBase(final String peer)
    {
        return agent.peerRegions(peer, MemoryKind.DRAM).address(0);
    }

    @Test
    void killedPeerMidTransferIsRemoteDisconnectWithinTheDeadline() throws Exception
    {
        try (io.ferry.contract.ContractPeer peer = TcpFixtures.peer(unique("victim"), SIZE, dir))
        {
            final String name = agent.loadRemoteMetadata(peer.metadata);
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local),
                DescList.builder(MemoryKind.DRAM).add(remoteBase(name), SIZE).build(), name, null);
            agent.connect(name);
            final Thread killer = new Thread(() ->
            {
                try
                {
                    Thread.sleep(200);
                    peer.process.destroyForcibly();
                }
                catch (final InterruptedException ignore)
                {
                    Thread.currentThread().interrupt();
                }
            });
            killer.start();
            final long start = System.nanoTime();
            final FerryException ex = catchThrowableOfType(FerryException.class, () ->
            {
                for (int i = 0; i < 10_000; i++)
                {
                    t.post();
                    t.await(Duration.ofSeconds(20));
                }
            });
            killer.join();
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isIn(ErrorCode.REMOTE_DISCONNECT, ErrorCode.NOT_FOUND);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
            assertThat(agent.peers()).doesNotContain(name);
            // the transfer ended: none of the dead link's threads may still be reading its memory
            assertThat(Thread.getAllStackTraces().keySet().stream()
                .filter(th -> th.isAlive() && th.getName().startsWith("ferry-tcp-" + agent.name() + "-" + name + "-p"))
                .map(Thread::getName).toList()).as("path threads alive after the failure").isEmpty();
        }
    }

    @Test
    void peerThatStopsAnsweringIsRemoteDisconnectWithinTheAckDeadline() throws Exception
    {
        try (io.ferry.contract.ContractPeer peer = TcpFixtures.peer(unique("frozen"), SIZE, dir))
        {
            final String name = agent.loadRemoteMetadata(peer.metadata);
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local),
                DescList.builder(MemoryKind.DRAM).add(remoteBase(name), SIZE).build(), name, null);
            t.post();
            t.await(Duration.ofSeconds(30));
            peer.signal("STOP");
            try
            {
                final long start = System.nanoTime();
                t.post();
                final FerryException ex = catchThrowableOfType(FerryException.class,
                    () -> t.await(Duration.ofSeconds(30)));
                final Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(ex).isNotNull();
                assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
                assertThat(ex.getMessage()).contains("no acknowledgement");
                assertThat(took).isBetween(Duration.ofMillis(2500), Duration.ofSeconds(10));
                assertThat(agent.peers()).doesNotContain(name);
            }
            finally
            {
                peer.signal("KILL");
            }
        }
    }
}
