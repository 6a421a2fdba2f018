package io.ferry.tcp;


import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.PreparedList;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.TransferStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.testing.TestData.fill;
import static io.ferry.tcp.TcpFixtures.liveThreads;
import static io.ferry.tcp.TcpFixtures.tcpAgent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Two agents in one JVM over real loopback TCP connections: data, notifications, chunking, faults.
 */
@Timeout(120)
class TcpTransferTest
{
    private static final long SIZE = 64L << 20;

    private Arena arena;
    private Agent initiator;
    private Agent target;
    private MemorySegment local;
    private MemorySegment remote;
    private Registration targetReg;
    private String peer;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        initiator = tcpAgent("init", "chunk_size", "262144", "reconnect_interval_ms", "200");
        target = tcpAgent("target");
        local = arena.allocate(SIZE, 4096);
        remote = arena.allocate(SIZE, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        targetReg = target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        peer = initiator.loadRemoteMetadata(target.localMetadata());
    }

    @AfterEach
    void tearDown()
    {
        final String a = initiator.name();
        final String b = target.name();
        initiator.close();
        target.close();
        arena.close();
        assertThat(liveThreads(a)).as("threads of " + a + " after close").isZero();
        assertThat(liveThreads(b)).as("threads of " + b + " after close").isZero();
    }

    @ParameterizedTest
    @EnumSource(TransferOp.class)
    void randomSizesFromOneByteTo64MiBWithDataVerified(final TransferOp op)
    {
        final SplittableRandom random = new SplittableRandom(op.ordinal());
        final long[] sizes = {1, 7, 4096, 65_537, 1 << 20, 3_333_333, SIZE};
        for (final long size : sizes)
        {
            final long lo = size == SIZE ? 0 : random.nextLong(SIZE - size);
            final long ro = size == SIZE ? 0 : random.nextLong(SIZE - size);
            final MemorySegment l = local.asSlice(lo, size);
            final MemorySegment r = remote.asSlice(ro, size);
            fill(TransferOp.WRITE == op ? l : r, size);
            final Transfer t = initiator.createTransfer(op, DescList.dram(l), DescList.dram(r), peer, null);
            assertThat(t.backend()).isEqualTo("TCP");
            t.post();
            t.await(Duration.ofSeconds(30));
            assertThat(t.status()).isEqualTo(TransferStatus.DONE);
            assertSameBytes(l, r);
        }
    }

    @ParameterizedTest
    @EnumSource(TransferOp.class)
    void thousandsOfSmallDescriptorsInOneRequest(final TransferOp op)
    {
        final int n = 4096;
        final int block = 4096;
        fill(TransferOp.WRITE == op ? local : remote, 99);
        final DescList[] lists = reversedBlocks(n, block, block);
        final Transfer t = initiator.createTransfer(op, lists[0], lists[1], peer,
            TransferOptions.notify("blocks".getBytes(StandardCharsets.UTF_8)));
        assertThat(t.descriptorCount()).isEqualTo(n);
        for (int repeat = 0; repeat < 3; repeat++)
        {
            t.post();
            t.await(Duration.ofSeconds(30));
            assertThat(target.awaitNotification(Duration.ofSeconds(10)).payloadAsString()).isEqualTo("blocks");
        }
        assertReversedBlocksMatch(n, block, block);
    }

    @Test
    void aSingleOneMebibyteWriteTravelsOnTwoPathsAndAReadInTwoChunks()
    {
        // the default chunk size (1 MiB) and spread_chunk_min (512 KiB): a 1 MiB request is cut in two
        try (Agent spread = tcpAgent("spread"))
        {
            spread.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String p = spread.loadRemoteMetadata(target.localMetadata());
            final MemorySegment l = local.asSlice(0, 1 << 20);
            final MemorySegment r = remote.asSlice(4096, 1 << 20);
            fill(l, 21);
            final Transfer w = spread.createTransfer(TransferOp.WRITE, DescList.dram(l), DescList.dram(r), p, null);
            w.post();
            w.await(Duration.ofSeconds(30));
            assertSameBytes(l, r);
            assertThat(spread.pathStats()).filteredOn(s -> s.bytesAcked() > 0)
                .extracting(io.ferry.PathStats::bytesAcked).containsExactly(512L * 1024, 512L * 1024);

            fill(r, 22);
            final Transfer rd = spread.createTransfer(TransferOp.READ, DescList.dram(l), DescList.dram(r), p, null);
            rd.post();
            rd.await(Duration.ofSeconds(30));
            assertSameBytes(l, r);
            assertThat(spread.pathStats().stream().mapToLong(io.ferry.PathStats::bytesAcked).sum())
                .isEqualTo(2L << 20);
            assertThat(spread.pathStats()).allMatch(s -> s.bytesAcked() % (512L * 1024) == 0);
        }
    }

    @ParameterizedTest
    @EnumSource(TransferOp.class)
    void chunksOfMoreSpansThanOneSocketCallTakesArriveWhole(final TransferOp op)
    {
        // 2,048 spans of 512 B per chunk: each frame's views go through the socket in several scatter/gather calls
        try (Agent wide = tcpAgent("wide", "max_spans_per_chunk", "2048"))
        {
            wide.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String p = wide.loadRemoteMetadata(target.localMetadata());
            final int n = 8192;
            final int block = 512;
            assertThat(n / 4).isGreaterThan(BlockingSocketIo.MAX_IOV_PER_CALL);
            fill(TransferOp.WRITE == op ? local : remote, 31 + op.ordinal());
            final DescList[] lists = reversedBlocks(n, block, 2 * block); // every other block: no merging
            final Transfer t = wide.createTransfer(op, lists[0], lists[1], p, null);
            t.post();
            t.await(Duration.ofSeconds(30));
            assertThat(t.status()).isEqualTo(TransferStatus.DONE);
            assertReversedBlocksMatch(n, block, 2 * block);
        }
    }

    /**
     * @return local block i (at i x stride) and remote block n-1-i, as a local and a remote list of n descriptors.
     */
    private DescList[] reversedBlocks(final int n, final int block, final int stride)
    {
        final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, n);
        final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, n);
        for (int i = 0; i < n; i++)
        {
            lb.add(local.address() + (long)i * stride, block);
            rb.add(remote.address() + (long)(n - 1 - i) * stride, block);
        }
        return new DescList[] {lb.build(), rb.build()};
    }

    /** Local block i equals remote block n-1-i, laid out as {@link #reversedBlocks} lays them. */
    private void assertReversedBlocksMatch(final int n, final int block, final int stride)
    {
        for (int i = 0; i < n; i++)
        {
            assertSameBytes(local.asSlice((long)i * stride, block), remote.asSlice((long)(n - 1 - i) * stride, block));
        }
    }

    @Test
    void notificationArrivesOnlyAfterEveryByteAndWithoutInitiatorPolling() throws Exception
    {
        fill(local, 5);
        final Thread checker = new Thread(() ->
        {
            final Notification n = target.awaitNotification(Duration.ofSeconds(30));
            // the data must already be in place when the notification is seen
            assertSameBytes(local, remote);
            assertThat(n.payloadAsString()).isEqualTo("done");
            assertThat(n.sender()).isEqualTo(initiator.name());
        });
        final Throwable[] failure = new Throwable[1];
        checker.setUncaughtExceptionHandler((th, ex) -> failure[0] = ex);
        checker.start();
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.dram(remote), peer,
            TransferOptions.notify("done".getBytes(StandardCharsets.UTF_8)));
        t.post();
        checker.join(40_000);
        assertThat(failure[0]).isNull();
        assertThat(t.completion().get().status()).isEqualTo(TransferStatus.DONE);
    }

    @Test
    void aTargetThatClosesAsSoonAsItIsNotifiedStillLetsTheTransferComplete()
    {
        // a bench target told "done" closes at once: the notification's ack must be on its way before that
        final MemorySegment small = local.asSlice(0, 8);
        for (int i = 0; i < 20; i++)
        {
            final Agent t = tcpAgent("closer");
            try
            {
                t.register(MemoryKind.DRAM, List.of(Region.of(remote.asSlice(0, 4096))));
                final String name = initiator.loadRemoteMetadata(t.localMetadata());
                final Thread closer = new Thread(() ->
                {
                    t.awaitNotification(Duration.ofSeconds(10));
                    t.close();
                });
                closer.start();
                final Transfer x = initiator.createTransfer(TransferOp.READ, DescList.dram(small),
                    DescList.dram(remote.asSlice(0, 8)), name, TransferOptions.notify("done".getBytes(
                        StandardCharsets.UTF_8)));
                x.post();
                x.await(Duration.ofSeconds(10)); // throws REMOTE_DISCONNECT when the target's close cut it off
                closer.join(10_000);
                x.close();
            }
            catch (final InterruptedException ex)
            {
                throw new AssertionError(ex);
            }
            finally
            {
                t.close();
            }
        }
    }

    @Test
    void standaloneNotificationsAndEagerConnect()
    {
        initiator.connect(peer);
        for (int i = 0; i < 50; i++)
        {
            initiator.sendNotification(peer, ("n" + i).getBytes(StandardCharsets.UTF_8));
        }
        initiator.sendNotification(peer, new byte[0]);
        int got = 0;
        while (got < 51)
        {
            target.awaitNotification(Duration.ofSeconds(10));
            got++;
        }
        assertThat(target.pollNotifications()).isEmpty();
    }

    @Test
    void aBrokenPathMidTransferIsRecoveredOnTheOthers() throws Exception
    {
        fill(local, 11);
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.dram(remote), peer,
            TransferOptions.notify("ok".getBytes(StandardCharsets.UTF_8)));
        initiator.connect(peer);
        final PeerLink link = backendOf(initiator).link(peer);
        t.post();
        link.breakPath(1);
        t.await(Duration.ofSeconds(30));
        assertSameBytes(local, remote);
        assertThat(target.awaitNotification(Duration.ofSeconds(10)).payloadAsString()).isEqualTo("ok");
        // the broken path comes back on its own and takes traffic again
        final long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (link.paths()[1].dead && System.nanoTime() < end)
        {
            Thread.sleep(50);
        }
        assertThat(link.paths()[1].dead).as("path 1 reconnected").isFalse();
        // and it keeps working on every path, READ too
        fill(remote, 12);
        final Transfer back = initiator.createTransfer(TransferOp.READ, DescList.dram(local), DescList.dram(remote),
            peer, null);
        back.post();
        back.await(Duration.ofSeconds(30));
        assertSameBytes(remote, local);
        assertThat(link.paths()[1].bytesAcked).as("the reconnected path carries chunks").isPositive();
    }

    @Test
    void losingEveryPathIsRemoteDisconnectAndDropsThePeer() throws Exception
    {
        initiator.connect(peer);
        final PeerLink link = backendOf(initiator).link(peer);
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.dram(remote), peer,
            null);
        t.post();
        for (int i = 0; i < link.paths().length; i++)
        {
            link.breakPath(i);
        }
        final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(30)));
        if (null != ex)
        {
            assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
            assertThat(initiator.peers()).doesNotContain(peer);
        }
        else
        {
            assertThat(t.status()).as("finished before the paths broke").isEqualTo(TransferStatus.DONE);
        }
    }

    @Test
    void closedTargetTurnsTransfersIntoRemoteDisconnect()
    {
        final Transfer t = initiator.createTransfer(TransferOp.READ, DescList.dram(local), DescList.dram(remote), peer,
            null);
        t.post();
        t.await(Duration.ofSeconds(30));
        target.close();
        final long start = System.nanoTime();
        final FerryException ex = catchThrowableOfType(FerryException.class, () ->
        {
            t.post();
            t.await(Duration.ofSeconds(30));
        });
        assertThat(ex).isNotNull();
        assertThat(ex.code()).isIn(ErrorCode.REMOTE_DISCONNECT, ErrorCode.NOT_FOUND);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(25));
        assertThat(initiator.peers()).doesNotContain(peer);
    }

    @Test
    void deregisteredTargetRegionIsRefusedAndTheTargetGetsAFailureNotification()
    {
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 1 << 20)),
            DescList.dram(remote.asSlice(0, 1 << 20)), peer, TransferOptions.notify("req-9".getBytes()));
        targetReg.close();
        t.post();
        final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(30)));
        assertThat(ex).isNotNull();
        assertThat(ex.code()).as("one fault, one code: NOT_FOUND as on LOCAL").isEqualTo(ErrorCode.NOT_FOUND);
        assertThat(ex.getMessage()).contains("BAD_REGION");
        final Notification n = target.awaitNotification(Duration.ofSeconds(10));
        assertThat(n.isFailure()).isTrue();
        assertThat(n.payloadAsString()).isEqualTo("req-9");
        assertThat(n.failureReason()).contains("BAD_REGION");
    }

    @Test
    void wrongSecretIsRefusedWithAClearError()
    {
        try (Agent locked = tcpAgent("locked", "auth_secret", "s3cret");
            Agent wrong = tcpAgent("wrong", "auth_secret", "guess");
            Agent right = tcpAgent("right", "auth_secret", "s3cret"))
        {
            final MemorySegment mem = arena.allocate(4096);
            locked.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            final MemorySegment w = arena.allocate(4096);
            wrong.register(MemoryKind.DRAM, List.of(Region.of(w)));
            right.register(MemoryKind.DRAM, List.of(Region.of(w)));
            final String name = wrong.loadRemoteMetadata(locked.localMetadata());
            right.loadRemoteMetadata(locked.localMetadata());
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> wrong.connect(name));
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
            assertThat(ex.getMessage()).contains("authentication failed");
            final Transfer ok = right.createTransfer(TransferOp.WRITE, DescList.dram(w), DescList.dram(mem), name, null);
            ok.post();
            ok.await(Duration.ofSeconds(10));
        }
    }

    @Test
    void preparedIndicesAndRoundRobinFixedWindowConfiguration()
    {
        try (Agent rr = tcpAgent("rr", "path_selection", "round_robin", "congestion_control", "fixed",
            "chunk_size", "65536", "paths", "3"))
        {
            final MemorySegment mine = arena.allocate(8 << 20, 4096);
            fill(mine, 77);
            rr.register(MemoryKind.DRAM, List.of(Region.of(mine)));
            final String p = rr.loadRemoteMetadata(target.localMetadata());
            final int blocks = 128;
            final int block = 65536;
            final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, blocks);
            final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, blocks);
            for (int i = 0; i < blocks; i++)
            {
                lb.add(mine.address() + (long)i * block, block);
                rb.add(remote.address() + (long)i * block, block);
            }
            final PreparedList l = rr.prepare(lb.build());
            final PreparedList r = rr.prepare(p, rb.build());
            final int[] even = new int[blocks / 2];
            for (int i = 0; i < even.length; i++)
            {
                even[i] = 2 * i;
            }
            final Transfer t = rr.transfer(TransferOp.WRITE, l, even, r, even, null);
            t.post();
            t.await(Duration.ofSeconds(30));
            for (final int i : even)
            {
                assertSameBytes(mine.asSlice((long)i * block, block), remote.asSlice((long)i * block, block));
            }
            for (final TcpPath path : backendOf(rr).link(p).paths())
            {
                assertThat(path.bytesAcked).as("round robin uses every path").isPositive();
            }
        }
    }

    @Test
    void aSilentPeerFailsTheConnectWithinOneConnectTimeoutNotOnePerPath() throws Exception
    {
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
            Agent impatient = tcpAgent("impatient", "connect_timeout_ms", "600", "paths", "4"))
        {
            // metadata that points at a listener which accepts and then says nothing
            final io.ferry.metadata.AgentMetadata real = io.ferry.metadata.MetadataCodec.decode(target.localMetadata());
            final byte[] info = Endpoints.encode(List.of(new java.net.InetSocketAddress("127.0.0.1",
                silent.getLocalPort())));
            final byte[] fake = io.ferry.metadata.MetadataCodec.encode(new io.ferry.metadata.AgentMetadata(
                "silent-" + target.name(), java.util.Map.of("TCP", info), real.regions()));
            final String name = impatient.loadRemoteMetadata(fake);
            final long start = System.nanoTime();
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> impatient.connect(name));
            final Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
            assertThat(ex.getMessage()).contains("600 ms");
            assertThat(took).as("paths connect in parallel").isLessThan(Duration.ofMillis(2000));
        }
    }

    static TcpBackend backendOf(final Agent agent)
    {
        for (final Object b : io.ferry.Fixtures.backends(agent))
        {
            if (b instanceof TcpBackend tcp)
            {
                return tcp;
            }
        }
        throw new AssertionError("no TCP backend");
    }
}
