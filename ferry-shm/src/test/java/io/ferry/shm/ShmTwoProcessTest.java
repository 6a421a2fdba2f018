package io.ferry.shm;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.AgentObserver;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ferry.testing.TestData.fill;
import static io.ferry.Fixtures.unique;
import static io.ferry.shm.ShmFixtures.devShmEntries;
import static io.ferry.shm.ShmFixtures.liveThreads;
import static io.ferry.shm.ShmFixtures.openDescriptors;
import static io.ferry.shm.ShmFixtures.sharedFileMappings;
import static io.ferry.shm.ShmFixtures.shmAgent;
import static io.ferry.shm.ShmFixtures.shmTcpAgent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * Two agents in two processes on this host over SHM, through both mechanisms: the child's region is a shared
 * memory file ("shm") or ordinary memory reached by cross-memory attach ("plain").
 */
@Timeout(300)
class ShmTwoProcessTest
{
    private static final long SIZE = 256L << 20;

    @TempDir
    Path dir;

    private static long remoteBase(final Agent agent, final String peer)
    {
        return agent.peerRegions(peer, MemoryKind.DRAM).address(0);
    }

    private String exchange(final Agent agent, final ShmPeerProcess peer) throws Exception
    {
        final String name = agent.loadRemoteMetadata(peer.metadata);
        final Path mine = dir.resolve(agent.name() + ".md");
        Files.write(mine, agent.localMetadata());
        assertThat(peer.command("load " + mine, 30)).containsExactly(agent.name());
        return name;
    }

    private static void run(final Agent agent, final TransferOp op, final DescList local, final DescList remote,
        final String peer, final TransferOptions options)
    {
        final Transfer t = agent.createTransfer(op, local, remote, peer, options);
        t.post();
        t.await(Duration.ofSeconds(120));
        assertThat(t.backend()).isEqualTo("SHM");
        t.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "plain"})
    void everySizeBothWaysWithNotificationsAfterTheData(final String memory) throws Exception
    {
        try (ShmArena shm = ShmArena.open(); Agent agent = shmAgent("parent");
            ShmPeerProcess peer = new ShmPeerProcess(unique("child"), SIZE, dir, memory))
        {
            final MemorySegment local = shm.allocate(SIZE);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String name = exchange(agent, peer);
            final long base = remoteBase(agent, name);
            final SplittableRandom random = new SplittableRandom(5);
            for (final long size : new long[]{1, 63, 4096, 65_537, (1 << 20) + 3, 9_999_999, 64L << 20, SIZE})
            {
                final long lo = size == SIZE ? 0 : random.nextLong(SIZE - size);
                final long ro = size == SIZE ? 0 : random.nextLong(SIZE - size);
                fill(local.asSlice(lo, size), size);
                run(agent, TransferOp.WRITE, DescList.dram(local.asSlice(lo, size)),
                    DescList.builder(MemoryKind.DRAM).add(base + ro, size).build(), name,
                    TransferOptions.notify(("w" + size).getBytes(StandardCharsets.UTF_8)));
                assertThat(peer.command("notif 10000", 30)).containsExactly(agent.name() + " w" + size);
                assertThat(peer.crc(ro, size)).as("WRITE of %d B", size)
                    .isEqualTo(ShmPeerMain.crc(local.asSlice(lo, size)));
                peer.command("fill " + (size + 1), 60);
                run(agent, TransferOp.READ, DescList.dram(local.asSlice(lo, size)),
                    DescList.builder(MemoryKind.DRAM).add(base + ro, size).build(), name, null);
                assertThat(ShmPeerMain.crc(local.asSlice(lo, size))).as("READ of %d B", size)
                    .isEqualTo(peer.crc(ro, size));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "plain"})
    void randomDescriptorListsBothWays(final String memory) throws Exception
    {
        final long size = 64L << 20;
        try (Arena arena = Arena.ofShared(); Agent agent = shmAgent("parent", "parallel_bytes", "65536");
            ShmPeerProcess peer = new ShmPeerProcess(unique("child"), size, dir, memory))
        {
            final MemorySegment local = arena.allocate(size, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String name = exchange(agent, peer);
            final long base = remoteBase(agent, name);
            final SplittableRandom random = new SplittableRandom(11);
            for (int round = 0; round < 4; round++)
            {
                // up to 3,000 spans of 1 B to 16 KiB, in slots of 16 KiB shuffled on the remote side
                final int n = 1 + random.nextInt(3_000);
                final int[] slots = io.ferry.testing.TestData.permutation(n, new java.util.Random(round));
                final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, n);
                final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, n);
                final long[] lens = new long[n];
                for (int i = 0; i < n; i++)
                {
                    lens[i] = 1 + random.nextInt(16 << 10);
                    lb.add(local.address() + (long)i * (16 << 10), lens[i]);
                    rb.add(base + (long)slots[i] * (16 << 10), lens[i]);
                }
                fill(local, round);
                run(agent, TransferOp.WRITE, lb.build(), rb.build(), name, null);
                for (int i = 0; i < n; i += 97)
                {
                    assertThat(peer.crc((long)slots[i] * (16 << 10), lens[i])).as("span %d", i)
                        .isEqualTo(ShmPeerMain.crc(local.asSlice((long)i * (16 << 10), lens[i])));
                }
                peer.command("fill " + (round + 100), 60);
                run(agent, TransferOp.READ, lb.build(), rb.build(), name, null);
                for (int i = 0; i < n; i += 89)
                {
                    assertThat(ShmPeerMain.crc(local.asSlice((long)i * (16 << 10), lens[i]))).as("span %d", i)
                        .isEqualTo(peer.crc((long)slots[i] * (16 << 10), lens[i]));
                }
            }
        }
    }

    @Test
    void aPeerKilledMidTransferEndsItRemoteDisconnectAndItsMappingsGo() throws Exception
    {
        final long size = 256L << 20;
        final CompletableFuture<String> lost = new CompletableFuture<>();
        final AgentObserver observer = new AgentObserver()
        {
            @Override
            public void onPeerLost(final String agentName, final String peer, final String reason)
            {
                lost.complete(peer);
            }
        };
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder(unique("parent")).backend("SHM", Map.of())
                .observer(observer).defaultTimeout(Duration.ofSeconds(20)).build()))
        {
            final MemorySegment local = arena.allocate(size, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final long mappingsBefore = sharedFileMappings();
            final ShmPeerProcess peer = new ShmPeerProcess(unique("child"), size, dir, "shm");
            try (peer)
            {
                final String name = exchange(agent, peer);
                final long base = remoteBase(agent, name);
                run(agent, TransferOp.WRITE, DescList.dram(local), DescList.builder(MemoryKind.DRAM).add(base, size)
                    .build(), name, null);
                assertThat(sharedFileMappings()).isEqualTo(mappingsBefore + 1);
                final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local),
                    DescList.builder(MemoryKind.DRAM).add(base, size).build(), name, null);
                final CompletableFuture<FerryException> failure = CompletableFuture.supplyAsync(() ->
                {
                    while (true)
                    {
                        try
                        {
                            t.post();
                            t.await(Duration.ofSeconds(20));
                        }
                        catch (final FerryException ex)
                        {
                            return ex;
                        }
                    }
                });
                Thread.sleep(300);
                final long killedAt = System.nanoTime();
                peer.kill();
                final FerryException ex = failure.get(20, TimeUnit.SECONDS);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt)).isLessThan(10_000);
                assertThat(ex.code()).isIn(ErrorCode.REMOTE_DISCONNECT, ErrorCode.NOT_FOUND);
                assertThat(lost.get(10, TimeUnit.SECONDS)).isEqualTo(name);
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (sharedFileMappings() > mappingsBefore && System.nanoTime() < deadline)
                {
                    Thread.sleep(20);
                }
                assertThat(sharedFileMappings()).as("mappings of the dead peer's memory").isEqualTo(mappingsBefore);
            }
        }
    }

    @Test
    void aCopyThatFailsTellsTheTargetWithAFailureNotification() throws Exception
    {
        try (Arena arena = Arena.ofShared(); Agent agent = shmAgent("parent");
            ShmPeerProcess peer = new ShmPeerProcess(unique("child"), 64L << 20, dir, "plain"))
        {
            final MemorySegment local = arena.allocate(64L << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String name = exchange(agent, peer);
            final long base = remoteBase(agent, name);
            peer.command("free", 30); // its memory is unmapped, its region still published
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.builder(
                MemoryKind.DRAM).add(base, 64L << 20).build(), name, TransferOptions.notify(
                "req-5".getBytes(StandardCharsets.UTF_8)));
            t.post();
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(20)));
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
            assertThat(ex.getMessage()).contains("process_vm_writev").contains(name);
            assertThat(peer.command("notif 10000", 30).getFirst()).startsWith(agent.name() + " req-5 FAILED ")
                .contains("no longer mapped");
        }
    }

    @Test
    void anAgentWithAnotherSecretIsRefusedBothWays() throws Exception
    {
        try (Arena arena = Arena.ofShared(); Agent agent = shmAgent("parent", "auth_secret", "ours");
            Agent open = shmAgent("open");
            ShmPeerProcess peer = new ShmPeerProcess(unique("child"), 1 << 20, dir, "shm", "auth_secret=theirs"))
        {
            final MemorySegment local = arena.allocate(1 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            open.register(MemoryKind.DRAM, List.of(Region.of(local)));
            for (final Agent a : List.of(agent, open))
            {
                final String name = a.loadRemoteMetadata(peer.metadata);
                final Transfer t = a.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.builder(
                    MemoryKind.DRAM).add(remoteBase(a, name), 1 << 20).build(), name, null);
                final FerryException ex = catchThrowableOfType(FerryException.class, () ->
                {
                    t.post();
                    t.await(Duration.ofSeconds(10));
                });
                assertThat(ex).as("agent %s", a.name()).isNotNull();
                assertThat(ex.code()).isEqualTo(ErrorCode.NOT_ALLOWED);
                assertThat(ex.getMessage()).containsAnyOf("secret", "refused");
            }
        }
    }

    @Test
    void nothingIsLeftOpenMappedOrNamedAfterClose() throws Exception
    {
        final long devShm = devShmEntries();
        final long mappings = sharedFileMappings();
        long fds = -1;
        try (ShmPeerProcess peer = new ShmPeerProcess(unique("child"), 4 << 20, dir, "shm"))
        {
            for (int round = 0; round < 3; round++)
            {
                final String agentName;
                try (ShmArena shm = ShmArena.open(); Agent agent = shmAgent("parent"))
                {
                    agentName = agent.name();
                    final MemorySegment local = shm.allocate(4 << 20);
                    agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
                    final String name = exchange(agent, peer);
                    run(agent, TransferOp.WRITE, DescList.dram(local), DescList.builder(MemoryKind.DRAM)
                        .add(remoteBase(agent, name), 4 << 20).build(), name, TransferOptions.notify(new byte[]{1}));
                    assertThat(peer.command("notif 10000", 30)).hasSize(1);
                    assertThat(sharedFileMappings()).isEqualTo(mappings + 2); // our arena's file and the peer's
                }
                assertThat(liveThreads(agentName)).isZero();
                if (0 == round)
                {
                    fds = openDescriptors(); // the JDK keeps what its first use opened (/dev/urandom, say)
                }
                assertThat(openDescriptors()).as("descriptors after round %d: %s", round,
                    ShmFixtures.describeDescriptors()).isEqualTo(fds);
                assertThat(sharedFileMappings()).isEqualTo(mappings);
                assertThat(devShmEntries()).isEqualTo(devShm);
            }
        }
    }

    @Test
    void sameHostPeersGoBySharedMemoryOthersByTcp() throws Exception
    {
        try (Arena arena = Arena.ofShared(); Agent agent = shmTcpAgent("parent");
            ShmPeerProcess near = new ShmPeerProcess(unique("near"), 1 << 20, dir, "plain", "SHM,TCP", List.of(),
                List.of());
            ShmPeerProcess far = new ShmPeerProcess(unique("far"), 1 << 20, dir, "plain", "SHM,TCP",
                List.of("-Dferry.host.id=another-host"), List.of()))
        {
            final MemorySegment local = arena.allocate(1 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            for (final ShmPeerProcess p : List.of(near, far))
            {
                final String name = agent.loadRemoteMetadata(p.metadata);
                final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.builder(
                    MemoryKind.DRAM).add(remoteBase(agent, name), 1 << 20).build(), name, null);
                t.post();
                t.await(Duration.ofSeconds(20));
                assertThat(t.backend()).as("backend to %s", name).isEqualTo(p == near ? "SHM" : "TCP");
                final Transfer forced = agent.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.builder(
                    MemoryKind.DRAM).add(remoteBase(agent, name), 1 << 20).build(), name,
                    TransferOptions.backend("TCP"));
                forced.post();
                forced.await(Duration.ofSeconds(20));
                assertThat(forced.backend()).isEqualTo("TCP");
            }
        }
    }

    @Test
    void aPeerInAnotherPidNamespaceIsReachedThroughItsSharedFilesOnly() throws Exception
    {
        assumeThat(Path.of("/usr/bin/unshare")).exists();
        assumeThat(new ProcessBuilder("unshare", "--pid", "--fork", "true").start().waitFor()).as("unshare works")
            .isZero();
        try (Arena arena = Arena.ofShared(); Agent agent = shmTcpAgent("parent");
            ShmPeerProcess shared = new ShmPeerProcess(unique("nsshm"), 1 << 20, dir, "shm", "SHM,TCP", List.of(),
                List.of("unshare", "--pid", "--fork", "--kill-child"));
            ShmPeerProcess plain = new ShmPeerProcess(unique("nsplain"), 1 << 20, dir, "plain", "SHM,TCP", List.of(),
                List.of("unshare", "--pid", "--fork", "--kill-child")))
        {
            final MemorySegment local = arena.allocate(1 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            for (final ShmPeerProcess p : List.of(shared, plain))
            {
                final String name = exchange(agent, p);
                fill(local, 77);
                final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.builder(
                    MemoryKind.DRAM).add(remoteBase(agent, name), 1 << 20).build(), name, null);
                t.post();
                t.await(Duration.ofSeconds(20));
                assertThat(t.backend()).as("backend to %s", name).isEqualTo(p == shared ? "SHM" : "TCP");
                assertThat(p.crc(0, 1 << 20)).isEqualTo(ShmPeerMain.crc(local));
            }
        }
    }
}
