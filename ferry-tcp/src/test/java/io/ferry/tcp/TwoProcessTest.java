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
 * Two agents in two JVM processes over TCP on loopback, metadata exchanged through files.
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
    void writeAndReadRandomSizesAndManyDescriptorsAcrossProcesses() throws Exception
    {
        try (PeerProcess peer = new PeerProcess(unique("child"), SIZE, dir))
        {
            final String name = agent.loadRemoteMetadata(peer.metadata);
            final Path mine = dir.resolve("parent.md");
            Files.write(mine, agent.localMetadata());
            assertThat(peer.command("load " + mine, 30)).containsExactly(agent.name());
            final long base = remoteBase(name);
            final SplittableRandom random = new SplittableRandom(17);
            for (final long size : new long[] {1, 4095, 1 << 20, 9_999_999, SIZE})
            {
                final long lo = size == SIZE ? 0 : random.nextLong(SIZE - size);
                final long ro = size == SIZE ? 0 : random.nextLong(SIZE - size);
                // push
                fill(local.asSlice(lo, size), size);
                final Transfer w = agent.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(lo, size)),
                    DescList.builder(MemoryKind.DRAM).add(base + ro, size).build(), name,
                    TransferOptions.notify(("w" + size).getBytes(StandardCharsets.UTF_8)));
                w.post();
                w.await(Duration.ofSeconds(60));
                assertThat(peer.command("notif 10000", 30)).containsExactly(agent.name() + " w" + size);
                assertThat(peer.crc(ro, size)).isEqualTo(PeerMain.crc(local.asSlice(lo, size)));
                // pull
                peer.command("fill " + (size + 1), 60);
                final Transfer r = agent.createTransfer(TransferOp.READ, DescList.dram(local.asSlice(lo, size)),
                    DescList.builder(MemoryKind.DRAM).add(base + ro, size).build(), name, null);
                r.post();
                r.await(Duration.ofSeconds(60));
                assertThat(PeerMain.crc(local.asSlice(lo, size))).isEqualTo(peer.crc(ro, size));
            }
            // 4096 descriptors of 4 KiB, scattered, both directions
            final int n = 4096;
            final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, n);
            final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, n);
            for (int i = 0; i < n; i++)
            {
                lb.add(local.address() + (long)i * 4096, 4096);
                rb.add(base + (long)(n - 1 - i) * 8192, 4096);
            }
            fill(local, 1234);
            final Transfer w = agent.createTransfer(TransferOp.WRITE, lb.build(), rb.build(), name, null);
            w.post();
            w.await(Duration.ofSeconds(60));
            final MemorySegment back = arena.allocate((long)n * 4096, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(back)));
            final DescList.Builder bb = DescList.builder(MemoryKind.DRAM, n);
            for (int i = 0; i < n; i++)
            {
                bb.add(back.address() + (long)i * 4096, 4096);
            }
            final Transfer pull = agent.createTransfer(TransferOp.READ, bb.build(), rb.build(), name, null);
            pull.post();
            pull.await(Duration.ofSeconds(60));
            io.ferry.testing.TestData.assertSameBytes(local.asSlice(0, (long)n * 4096), back);
        }
    }

    @Test
    void killedPeerMidTransferIsRemoteDisconnectWithinTheDeadline() throws Exception
    {
        try (PeerProcess peer = new PeerProcess(unique("victim"), SIZE, dir))
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
        try (PeerProcess peer = new PeerProcess(unique("frozen"), SIZE, dir))
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
