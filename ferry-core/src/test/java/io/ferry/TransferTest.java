package io.ferry;


import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.Fixtures.expectError;
import static io.ferry.testing.TestData.fill;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test items 21, 24 and 25: one-call and prepared transfers with notifications, merging, backend query,
 * index and state errors, telemetry; plus async completion, reposting and aborting.
 */
@Timeout(60)
class TransferTest
{
    private static final int SIZE = 1 << 20;

    private Arena arena;
    private Agent initiator;
    private Agent target;
    private MemorySegment src;
    private MemorySegment dst;
    private String peer;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        initiator = Fixtures.localAgent("init");
        target = Fixtures.localAgent("target");
        src = arena.allocate(SIZE, 4096);
        dst = arena.allocate(SIZE, 4096);
        fill(src, 42);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(src)));
        target.register(MemoryKind.DRAM, List.of(Region.of(dst)));
        peer = initiator.loadRemoteMetadata(target.localMetadata());
        target.loadRemoteMetadata(initiator.localMetadata());
    }

    @AfterEach
    void tearDown()
    {
        initiator.close();
        target.close();
        arena.close();
    }

    @Test
    void writeWithNotificationDeliversExactlyOneAfterTheData()
    {
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(dst), peer,
            TransferOptions.notify("req-17".getBytes(StandardCharsets.UTF_8)));
        assertThat(t.status()).isEqualTo(TransferStatus.NOT_POSTED);
        assertThat(t.post()).isEqualTo(TransferStatus.DONE);
        t.await(Duration.ofSeconds(5));
        assertSameBytes(src, dst);

        final List<Notification> got = target.pollNotifications();
        assertThat(got).hasSize(1);
        assertThat(got.getFirst().sender()).isEqualTo(initiator.name());
        assertThat(got.getFirst().payloadAsString()).isEqualTo("req-17");
        assertThat(initiator.pollNotifications()).isEmpty();
        assertThat(target.pollNotifications()).isEmpty();
        assertThat(t.backend()).isEqualTo("LOCAL");
        assertThat(t.peer()).isEqualTo(peer);
    }

    @Test
    void readPullsTargetMemory()
    {
        fill(dst, 7);
        final Transfer t = initiator.createTransfer(TransferOp.READ, DescList.dram(src), DescList.dram(dst), peer,
            null);
        t.post();
        t.await();
        assertSameBytes(dst, src);
    }

    @Test
    void preparedIndicesMergeContiguousPairs()
    {
        final int block = 4096;
        final int blocks = SIZE / block;
        final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, blocks);
        final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, blocks);
        for (int i = 0; i < blocks; i++)
        {
            lb.add(src.address() + (long)i * block, block);
            rb.add(dst.address() + (long)i * block, block);
        }
        final PreparedList local = initiator.prepare(lb.build());
        final PreparedList remote = initiator.prepare(peer, rb.build());
        assertThat(local.size()).isEqualTo(blocks);
        assertThat(local.backends()).containsExactly("LOCAL");

        final int[] all = new int[blocks];
        for (int i = 0; i < blocks; i++)
        {
            all[i] = i;
        }
        final Transfer merged = initiator.transfer(TransferOp.WRITE, local, all, remote, all,
            TransferOptions.notify(new byte[0]));
        assertThat(merged.descriptorCount()).isEqualTo(1);
        assertThat(merged.totalBytes()).isEqualTo(SIZE);
        merged.post();
        assertSameBytes(src, dst);
        assertThat(target.awaitNotification(Duration.ofSeconds(5)).length()).as("empty payload is allowed").isZero();

        // Reversed block order: nothing is contiguous, nothing merges, data still lands right.
        final int[] reversed = new int[blocks];
        for (int i = 0; i < blocks; i++)
        {
            reversed[i] = blocks - 1 - i;
        }
        final Transfer scattered = initiator.transfer(TransferOp.WRITE, local, all, remote, reversed,
            TransferOptions.NONE);
        assertThat(scattered.descriptorCount()).isEqualTo(blocks);
        scattered.post();
        for (int i = 0; i < blocks; i++)
        {
            assertSameBytes(src.asSlice((long)i * block, block), dst.asSlice((long)(blocks - 1 - i) * block, block));
        }

        // Every other block: pairs are consecutive indices but not contiguous memory.
        final Transfer strided = initiator.transfer(TransferOp.WRITE, local, new int[] {0, 2, 4},
            remote, new int[] {0, 2, 4}, TransferOptions.NONE);
        assertThat(strided.descriptorCount()).isEqualTo(3);
        final Transfer run = initiator.transfer(TransferOp.WRITE, local, new int[] {3, 4, 5, 9},
            remote, new int[] {3, 4, 5, 9}, TransferOptions.NONE);
        assertThat(run.descriptorCount()).isEqualTo(2);
    }

    @Test
    void indexAndListErrorsAreInvalidParam()
    {
        final PreparedList local = initiator.prepare(DescList.dram(src.asSlice(0, 4096), src.asSlice(4096, 4096)));
        final PreparedList remote = initiator.prepare(peer, DescList.dram(dst.asSlice(0, 4096)));
        final FerryException range = expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(TransferOp.WRITE,
            local, new int[] {0, 2}, remote, new int[] {0, 0}, null));
        assertThat(range.getMessage()).contains("local index 2").contains("position 1");
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(TransferOp.WRITE,
            local, new int[] {0}, remote, new int[] {-1}, null));
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(TransferOp.WRITE,
            local, new int[] {0, 1}, remote, new int[] {0}, null));
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(TransferOp.WRITE,
            local, new int[0], remote, new int[0], null));
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(TransferOp.WRITE,
            remote, new int[] {0}, local, new int[] {0}, null));
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(TransferOp.WRITE,
            local, new int[] {0}, target.prepare(DescList.dram(dst.asSlice(0, 4096))), new int[] {0}, null));

        final PreparedList shorter = initiator.prepare(peer, DescList.dram(dst.asSlice(0, 100)));
        final FerryException length = expectError(ErrorCode.INVALID_PARAM, () -> initiator.transfer(
            TransferOp.WRITE, local, new int[] {0}, shorter, new int[] {0}, null));
        assertThat(length.getMessage()).contains("4096 B").contains("100 B");
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.createTransfer(TransferOp.WRITE,
            DescList.dram(src), DescList.dram(dst, dst), peer, null));
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.prepare(DescList.empty(MemoryKind.DRAM)));
    }

    @Test
    void unknownPeerAndUnregisteredMemoryAreNotFound()
    {
        expectError(ErrorCode.NOT_FOUND, () -> initiator.prepare("nobody", DescList.dram(dst)));
        final MemorySegment stray = arena.allocate(4096);
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, () -> initiator.prepare(DescList.dram(stray)));
        assertThat(ex.getMessage()).contains("descriptor 0").contains(initiator.name());
        expectError(ErrorCode.NOT_FOUND, () -> initiator.sendNotification("nobody", new byte[1]));
        expectError(ErrorCode.NOT_FOUND, () -> initiator.connect("nobody"));
    }

    @Test
    void stateAndTelemetryBeforePost()
    {
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(dst), peer,
            null);
        assertThat(t.status()).isEqualTo(TransferStatus.NOT_POSTED);
        expectError(ErrorCode.NOT_POSTED, t::telemetry);
        expectError(ErrorCode.NOT_POSTED, () -> t.await(Duration.ofMillis(10)));
        assertThat(t.completion()).isCompletedExceptionally();

        t.post();
        final TransferTelemetry telemetry = t.telemetry();
        assertThat(telemetry.totalBytes()).isEqualTo(SIZE);
        assertThat(telemetry.descriptorCount()).isEqualTo(1);
        assertThat(telemetry.transferDuration()).isPositive();
        assertThat(telemetry.postDuration().isNegative()).isFalse();
        assertThat(telemetry.startTime()).isBeforeOrEqualTo(java.time.Instant.now());
        assertThat(t.completion()).isCompletedWithValue(t);
    }

    @Test
    void repostAfterDoneWorksAndPostOptionsReplaceTheNotification()
    {
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(dst), peer,
            TransferOptions.notify("first".getBytes(StandardCharsets.UTF_8)));
        t.post();
        t.post();
        t.post(TransferOptions.notify("second".getBytes(StandardCharsets.UTF_8)));
        t.post();
        t.post(TransferOptions.NONE);
        assertThat(target.pollNotifications()).extracting(Notification::payloadAsString)
            .containsExactly("first", "first", "second", "second");
    }

    @Test
    void connectBothWays()
    {
        initiator.connect(peer);
        target.connect(initiator.name());
    }

    @Test
    void loopbackTransferBetweenOwnRegions()
    {
        final MemorySegment own = arena.allocate(SIZE, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(own)));
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(own),
            initiator.name(), TransferOptions.notify("self".getBytes(StandardCharsets.UTF_8)));
        t.post();
        assertSameBytes(src, own);
        assertThat(initiator.awaitNotification(Duration.ofSeconds(5)).sender()).isEqualTo(initiator.name());
    }

    @Test
    void deregisteredLocalMemoryFailsThePostInsteadOfBeingTouched()
    {
        final MemorySegment scratch = arena.allocate(4096, 4096);
        final Registration reg = initiator.register(MemoryKind.DRAM, List.of(Region.of(scratch)));
        final Transfer t = initiator.createTransfer(TransferOp.READ, DescList.dram(scratch),
            DescList.dram(dst.asSlice(0, 4096)), peer, null);
        reg.close();
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, t::post);
        assertThat(ex.getMessage()).contains("deregistered");
    }

    @Test
    void freedArenaIsReportedNotCrashed()
    {
        final Arena doomed = Arena.ofShared();
        final MemorySegment mem = doomed.allocate(4096, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(mem)));
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(mem),
            DescList.dram(dst.asSlice(0, 4096)), peer, null);
        doomed.close();
        final FerryException ex = expectError(ErrorCode.BACKEND, t::post);
        assertThat(ex.getMessage()).contains("freed");
    }

    @Test
    void asyncCopiesCompleteWithoutPollingAndRefuseRepostWhileActive() throws Exception
    {
        try (Agent async = Agent.create(AgentConfig.builder(unique("async"))
            .backend("LOCAL", Map.of("copy_threads", "1")).build()))
        {
            final long big = 64L << 20;
            final MemorySegment from = arena.allocate(big, 4096);
            final MemorySegment to = arena.allocate(big, 4096);
            fill(from, 3);
            async.register(MemoryKind.DRAM, List.of(Region.of(from), Region.of(to)));
            final Transfer t = async.createTransfer(TransferOp.WRITE, DescList.dram(from), DescList.dram(to),
                async.name(), null);

            boolean sawRepostActive = false;
            for (int attempt = 0; attempt < 20 && !sawRepostActive; attempt++)
            {
                final TransferStatus s = t.post();
                final CompletableFuture<Transfer> done = t.completion();
                if (TransferStatus.IN_PROGRESS == s)
                {
                    final FerryException ex = Fixtures.expectError(ErrorCode.REPOST_ACTIVE, t::post);
                    sawRepostActive = ex.getMessage().contains("in progress");
                }
                assertThat(done.get(20, TimeUnit.SECONDS)).isSameAs(t);
                assertThat(t.status()).isEqualTo(TransferStatus.DONE);
            }
            assertThat(sawRepostActive).as("a 64 MiB copy on a copy thread was seen in progress").isTrue();
            assertSameBytes(from, to);
        }
    }

    @Test
    void awaitTimesOutWhileTheTransferGoesOn() throws Exception
    {
        try (Agent async = Agent.create(AgentConfig.builder(unique("slow"))
            .backend("LOCAL", Map.of("copy_threads", "1")).build()))
        {
            final long big = 256L << 20;
            final MemorySegment from = arena.allocate(big, 4096);
            final MemorySegment to = arena.allocate(big, 4096);
            async.register(MemoryKind.DRAM, List.of(Region.of(from), Region.of(to)));
            final Transfer t = async.createTransfer(TransferOp.WRITE, DescList.dram(from), DescList.dram(to),
                async.name(), null);
            boolean sawTimeout = false;
            for (int attempt = 0; attempt < 10 && !sawTimeout; attempt++)
            {
                if (TransferStatus.IN_PROGRESS == t.post())
                {
                    try
                    {
                        t.await(Duration.ZERO);
                    }
                    catch (final FerryException ex)
                    {
                        sawTimeout = ErrorCode.TIMED_OUT == ex.code();
                    }
                }
                t.await(Duration.ofSeconds(30));
            }
            assertThat(sawTimeout).isTrue();
            assertThat(t.status()).isEqualTo(TransferStatus.DONE);
        }
    }

    @Test
    void closingAgentCancelsQueuedCopies() throws Exception
    {
        final Agent async = Agent.create(AgentConfig.builder(unique("cancel"))
            .backend("LOCAL", Map.of("copy_threads", "1")).build());
        final long big = 64L << 20;
        final MemorySegment from = arena.allocate(big, 4096);
        final MemorySegment to = arena.allocate(big, 4096);
        async.register(MemoryKind.DRAM, List.of(Region.of(from), Region.of(to)));
        final Transfer[] ts = new Transfer[4];
        for (int i = 0; i < ts.length; i++)
        {
            ts[i] = async.createTransfer(TransferOp.WRITE, DescList.dram(from), DescList.dram(to), async.name(),
                null);
            ts[i].post();
        }
        async.close();
        for (final Transfer t : ts)
        {
            assertThat(t.status()).isIn(TransferStatus.DONE, TransferStatus.FAILED);
            if (TransferStatus.FAILED == t.status())
            {
                assertThat(t.error().code()).isEqualTo(ErrorCode.CANCELED);
            }
        }
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(
            th -> th.getName().startsWith("ferry-local-" + async.name()) && th.isAlive());
    }
}
