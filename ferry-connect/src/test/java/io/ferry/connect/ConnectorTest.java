package io.ferry.connect;

import io.ferry.testing.TestData;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.Fixtures;
import io.ferry.Notification;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two connectors in one JVM over real TCP sockets: operations, cancellation, deadlines, block pools, handshakes
 * and leases.
 */
@Timeout(60)
class ConnectorTest
{
    private Connector a;
    private Connector b;
    private Arena arena;

    @BeforeEach
    void start()
    {
        a = Connector.create(Fixtures.unique("a"));
        b = Connector.create(Fixtures.unique("b"));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop()
    {
        b.close();
        a.close();
        arena.close();
    }

    private MemorySegment filled(final long size, final long seed)
    {
        final MemorySegment m = arena.allocate(size, 64);
        TestData.fill(m, seed);
        return m;
    }

    @Test
    void readOfSeveralDescriptorsCompletesBothSides()
    {
        final List<MemorySegment> src = List.of(filled(4096, 1), filled(100_000, 2), filled(7, 3));
        final List<MemorySegment> dst = List.of(arena.allocate(4096), arena.allocate(100_000), arena.allocate(7));
        try (Operation readable = a.createReadable(src.stream().map(Descriptor::of).toList()))
        {
            assertThat(readable.status()).isEqualTo(OperationStatus.INITIALIZED);
            final TransferMetadata md = TransferMetadata.fromJson(readable.metadata().toJson());
            try (Operation read = b.beginRead(md, dst.stream().map(Descriptor::of).toList()))
            {
                read.awaitCompletion(Duration.ofSeconds(10));
                assertThat(read.status()).isEqualTo(OperationStatus.COMPLETE);
                assertThat(read.peer()).isEqualTo(a.name());
            }
            readable.awaitCompletion(Duration.ofSeconds(10));
            assertThat(readable.peer()).isEqualTo(b.name());
            assertThat(readable.elapsedNanos()).isPositive();
        }
        for (int i = 0; i < src.size(); i++)
        {
            TestData.assertSameBytes(src.get(i), dst.get(i));
        }
    }

    @Test
    void writeCompletesTheWritableAfterEveryByte()
    {
        final MemorySegment into = arena.allocate(3 << 20);
        final MemorySegment from = filled(3 << 20, 9);
        try (Operation writable = b.createWritable(List.of(Descriptor.of(into)));
            Operation write = a.beginWrite(List.of(Descriptor.of(from)), writable.metadata()))
        {
            writable.awaitCompletion(Duration.ofSeconds(10));
            TestData.assertSameBytes(from, into);
            write.awaitCompletion(Duration.ofSeconds(10));
        }
    }

    @Test
    void aReadableCannotBeWrittenNorAWritableRead()
    {
        final MemorySegment m = filled(4096, 1);
        try (Operation readable = a.createReadable(List.of(Descriptor.of(m)));
            Operation writable = a.createWritable(List.of(Descriptor.of(arena.allocate(4096)))))
        {
            final MemorySegment local = arena.allocate(4096);
            assertThat(expectError(ErrorCode.INVALID_PARAM, () ->
                b.beginWrite(List.of(Descriptor.of(local)), readable.metadata())).getMessage())
                .contains("READABLE").contains("may only be read");
            assertThat(expectError(ErrorCode.INVALID_PARAM, () ->
                b.beginRead(writable.metadata(), List.of(Descriptor.of(local)))).getMessage())
                .contains("WRITABLE").contains("may only be written");
            expectError(ErrorCode.NOT_ALLOWED, () -> b.beginRead(readable.metadata(),
                List.of(Descriptor.of(local))).metadata());
        }
    }

    @Test
    void descriptorsThatDoNotMatchAreRefusedNamingTheFirst()
    {
        try (Operation readable = a.createReadable(List.of(Descriptor.of(filled(4096, 1)),
            Descriptor.of(filled(512, 2)))))
        {
            assertThat(expectError(ErrorCode.INVALID_PARAM, () -> b.beginRead(readable.metadata(),
                List.of(Descriptor.of(arena.allocate(4096))))).getMessage()).contains("2 descriptor(s) but 1 local");
            assertThat(expectError(ErrorCode.INVALID_PARAM, () -> b.beginRead(readable.metadata(),
                List.of(Descriptor.of(arena.allocate(4096)), Descriptor.of(arena.allocate(500))))).getMessage())
                .contains("local descriptor 1 is 500 B").contains("is 512 B");
        }
        expectError(ErrorCode.INVALID_PARAM, () -> a.createReadable(List.of()));
        expectError(ErrorCode.INVALID_PARAM, () -> a.createReadable(List.of(Descriptor.of(filled(64, 1)),
            Descriptor.of(0x10000, 64, Device.cuda(0)))));
    }

    @Test
    void passiveWaitHasADeadlineAndCancelStopsPeersReachingTheMemory()
    {
        final MemorySegment m = filled(4096, 1);
        final Operation readable = a.createReadable(List.of(Descriptor.of(m)));
        assertThat(expectError(ErrorCode.TIMED_OUT, () -> readable.awaitCompletion(Duration.ofMillis(100)))
            .getMessage()).contains("not complete after");
        assertThat(readable.cancel()).isTrue();
        assertThat(readable.status()).isEqualTo(OperationStatus.CANCELLED);
        assertThat(readable.cancel()).isFalse();
        expectError(ErrorCode.CANCELED, () -> readable.awaitCompletion(Duration.ofSeconds(1)));
        final FerryException late = expectFailure(() ->
        {
            try (Operation read = b.beginRead(readable.metadata(), List.of(Descriptor.of(arena.allocate(4096)))))
            {
                read.awaitCompletion(Duration.ofSeconds(10));
            }
        });
        assertThat(late.code()).as(late.getMessage()).isIn(ErrorCode.NOT_FOUND, ErrorCode.NOT_ALLOWED);
        assertThat(late.getMessage()).contains("no registered region");
    }

    private static FerryException expectFailure(final Runnable r)
    {
        try
        {
            r.run();
        }
        catch (final FerryException ex)
        {
            return ex;
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    void cancelledWriteEndsTheWritableErroredWithCanceled()
    {
        final long size = 256L << 20;
        final MemorySegment into = arena.allocate(size);
        final MemorySegment from = arena.allocate(size);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try (Operation writable = b.createWritable(List.of(Descriptor.of(into)));
                Operation write = a.beginWrite(List.of(Descriptor.of(from)), writable.metadata()))
            {
                if (!write.cancel())
                {
                    continue; // it finished first
                }
                assertThat(write.status()).isEqualTo(OperationStatus.CANCELLED);
                expectError(ErrorCode.CANCELED, () -> write.awaitCompletion(Duration.ofSeconds(1)));
                final FerryException ex = expectError(ErrorCode.CANCELED, () ->
                    writable.awaitCompletion(Duration.ofSeconds(10)));
                assertThat(ex.getMessage()).contains("cancelled by " + a.name());
                assertThat(writable.status()).isEqualTo(OperationStatus.ERRORED);
                return;
            }
        }
        throw new AssertionError("the 256 MiB write completed before cancel() five times");
    }

    @Test
    void closingTheWriterMidOperationEndsTheWritableErrored()
    {
        final long size = 256L << 20;
        final MemorySegment into = arena.allocate(size);
        final MemorySegment from = arena.allocate(size);
        final Connector doomed = Connector.create(Fixtures.unique("doomed"));
        try (Operation writable = b.createWritable(List.of(Descriptor.of(into))))
        {
            doomed.beginWrite(List.of(Descriptor.of(from)), writable.metadata());
            while (OperationStatus.INITIALIZED == writable.status())
            {
                Thread.onSpinWait();
            }
            doomed.close();
            try
            {
                writable.awaitCompletion(Duration.ofSeconds(10));
                assertThat(writable.status()).isEqualTo(OperationStatus.COMPLETE); // it won the race
            }
            catch (final FerryException ex)
            {
                assertThat(ex.code()).isIn(ErrorCode.REMOTE_DISCONNECT, ErrorCode.BACKEND, ErrorCode.CANCELED);
                assertThat(writable.status()).isEqualTo(OperationStatus.ERRORED);
            }
        }
        finally
        {
            doomed.close();
        }
    }

    // ------------------------------------------------------------------------------------------ block pools

    private static List<MemorySegment> regions(final Arena arena, final BlockLayout layout, final long seed)
    {
        final List<MemorySegment> out = new ArrayList<>();
        for (int r = 0; r < layout.regions(); r++)
        {
            final MemorySegment s = arena.allocate(layout.regionBytes(), 64);
            if (seed >= 0)
            {
                TestData.fill(s, seed + r);
            }
            out.add(s);
        }
        return out;
    }

    private int port(final Connector c)
    {
        return c.agent().metadataAddress().orElseThrow().getPort();
    }

    @Test
    void poolsHandshakeAndMoveBlocksByIdInOneRequestWithAMessage()
    {
        final BlockLayout prefill = new BlockLayout("test-model/bf16/NHD", 6, 16, 8192);
        final BlockLayout decode = new BlockLayout("test-model/bf16/NHD", 6, 40, 8192);
        final BlockPool pa = a.createBlockPool(prefill, regions(arena, prefill, 100));
        final BlockPool pb = b.createBlockPool(decode, regions(arena, decode, -1));
        final PeerPool toB = pa.handshake("127.0.0.1", port(b), Duration.ofSeconds(10));
        final PeerPool toA = pb.awaitPeer(a.name(), Duration.ofSeconds(10));
        assertThat(toB.layout().blockCount()).isEqualTo(40);
        assertThat(toA.peer()).isEqualTo(a.name());

        final int[] local = {3, 4, 5, 15, 0};
        final int[] remote = {39, 7, 8, 20, 1};
        try (Operation w = pa.write(toB, local, remote, "req-7".getBytes(StandardCharsets.UTF_8)))
        {
            w.awaitCompletion(Duration.ofSeconds(10));
            assertThat(w.totalBytes()).isEqualTo(6L * 5 * 8192);
        }
        final Notification n = b.awaitMessage(a.name(), x -> x.payloadAsString().equals("req-7"),
            Duration.ofSeconds(10));
        assertThat(n.isFailure()).isFalse();
        for (int r = 0; r < 6; r++)
        {
            for (int k = 0; k < local.length; k++)
            {
                TestData.assertSameBytes(pa.block(r, local[k]), pb.block(r, remote[k]));
            }
        }
        // and back: the decoder pulls two blocks into fresh ids
        try (Operation rd = pb.read(toA, new int[] {30, 31}, new int[] {1, 2}, null))
        {
            rd.awaitCompletion(Duration.ofSeconds(10));
        }
        TestData.assertSameBytes(pa.block(5, 2), pb.block(5, 31));
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> pa.write(toB, new int[] {1}, new int[] {40}, null))
            .getMessage()).contains("block 40 at position 0 is out of range [0, 40)");
        expectError(ErrorCode.INVALID_PARAM, () -> pa.write(toB, new int[] {1, 2}, new int[] {3}, null));
        expectError(ErrorCode.INVALID_PARAM, () -> a.createBlockPool(prefill, regions(arena, prefill, -1)));
    }

    @Test
    void mismatchedPoolsAreRejectedNamingTheMismatch()
    {
        final BlockLayout ours = new BlockLayout("llama-3.1-8b/bf16", 4, 8, 32768);
        final BlockLayout theirs = new BlockLayout("llama-3.1-8b/fp8", 4, 8, 16384);
        final BlockPool pa = a.createBlockPool(ours, regions(arena, ours, -1));
        final BlockPool pb = b.createBlockPool(new BlockLayout("llama-3.1-8b/bf16", 4, 8, 16384),
            regions(arena, theirs, -1));
        final FerryException ex = expectError(ErrorCode.MISMATCH, () ->
            pa.handshake("127.0.0.1", port(b), Duration.ofSeconds(10)));
        assertThat(ex.getMessage()).contains("block size 32768 B vs our 16384 B");
        final FerryException direct = expectError(ErrorCode.MISMATCH, () -> pa.attach(pb.handshakeBytes()));
        assertThat(direct.getMessage()).contains("block size 16384 B vs our 32768 B");
    }

    @Test
    void aPoolWithAnotherTagIsAMismatchOrNotFoundAmongSeveral()
    {
        final BlockLayout ours = new BlockLayout("model-x", 2, 4, 4096);
        final BlockPool pa = a.createBlockPool(ours, regions(arena, ours, -1));
        final BlockLayout other = new BlockLayout("model-y", 2, 4, 4096);
        final BlockPool pb = b.createBlockPool(other, regions(arena, other, -1));
        assertThat(expectError(ErrorCode.MISMATCH, () -> pa.handshake("127.0.0.1", port(b), Duration.ofSeconds(10)))
            .getMessage()).contains("tag 'model-x' vs ours 'model-y'");
        assertThat(expectError(ErrorCode.MISMATCH, () -> pb.awaitPeer(a.name(), Duration.ofSeconds(10)))
            .getMessage()).contains("refused the handshake of " + a.name());
        final BlockLayout third = new BlockLayout("model-z", 2, 4, 4096);
        b.createBlockPool(third, regions(arena, third, -1));
        assertThat(expectError(ErrorCode.NOT_FOUND, () -> pa.handshake("127.0.0.1", port(b), Duration.ofSeconds(10)))
            .getMessage()).contains("no block pool tagged 'model-x'").contains("'model-y'").contains("'model-z'");
    }

    @Test
    void leaseExpiryFreesTheBlocksAndIsReported()
    {
        final BlockLayout layout = new BlockLayout("m", 2, 8, 4096);
        final BlockPool pa = a.createBlockPool(layout, regions(arena, layout, 1));
        final BlockPool pb = b.createBlockPool(layout, regions(arena, layout, -1));
        final PeerPool toA = pb.handshake("127.0.0.1", port(a), Duration.ofSeconds(10));
        final List<BlockLease> ended = new CopyOnWriteArrayList<>();
        pa.onLeaseEnd(ended::add);
        final BlockLease lease = pa.hold(b.name(), "req-1", new int[] {2, 3}, Duration.ofMillis(300));
        assertThat(pa.isHeld(2)).isTrue();
        assertThat(pa.heldBlockCount()).isEqualTo(2);
        assertThat(lease.awaitEnd(Duration.ofSeconds(10))).isEqualTo(BlockLease.State.EXPIRED);
        assertThat(lease.reason()).contains("no heartbeat or release from " + b.name());
        assertThat(ended).containsExactly(lease);
        assertThat(pa.heldBlockCount()).isZero();
        // a late heartbeat is answered: the holder says it no longer holds them
        toA.heartbeat("req-1");
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (!toA.wasExpired("req-1") && System.nanoTime() < deadline)
        {
            Thread.onSpinWait();
        }
        assertThat(toA.wasExpired("req-1")).isTrue();
        expectError(ErrorCode.INVALID_PARAM, () -> pa.hold(b.name(), "r", new int[] {8}, Duration.ofSeconds(1)));
        expectError(ErrorCode.INVALID_PARAM, () -> pa.hold(b.name(), "r", new int[] {1}, Duration.ZERO));
    }

    @Test
    void theDutyLoopExpiresALeaseExactlyWhenItsClockSaysSo()
    {
        // the dispatcher runs on the real clock; a lease of an hour never expires there during this test, so only
        // the rounds driven here with a fake clock can end it
        final BlockLayout layout = new BlockLayout("m", 2, 8, 4096);
        final BlockPool pa = a.createBlockPool(layout, regions(arena, layout, 1));
        final BlockPool pb = b.createBlockPool(layout, regions(arena, layout, -1));
        pb.handshake("127.0.0.1", port(a), Duration.ofSeconds(10));
        final long start = System.nanoTime();
        final BlockLease lease = pa.hold(b.name(), "req-f", new int[] {4}, Duration.ofHours(1));
        final long expiry = lease.expiresAtNanos();
        assertThat(expiry - start).isBetween(Duration.ofHours(1).toNanos(), Duration.ofHours(1).toNanos() +
            Duration.ofSeconds(10).toNanos());
        a.doWork(expiry - 1);
        assertThat(lease.state()).as("one nanosecond before its expiry").isEqualTo(BlockLease.State.HELD);
        assertThat(pa.isHeld(4)).isTrue();
        assertThat(a.doWork(expiry)).as("work done at its expiry").isPositive();
        assertThat(lease.state()).isEqualTo(BlockLease.State.EXPIRED);
        assertThat(pa.isHeld(4)).isFalse();
        assertThat(a.doWork(expiry + Duration.ofHours(2).toNanos())).as("nothing left to expire").isZero();
    }

    @Test
    void heartbeatsKeepTheLeaseAndReleaseEndsIt() throws Exception
    {
        final BlockLayout layout = new BlockLayout("m", 2, 8, 4096);
        final BlockPool pa = a.createBlockPool(layout, regions(arena, layout, 1));
        final BlockPool pb = b.createBlockPool(layout, regions(arena, layout, -1));
        final PeerPool toA = pb.handshake("127.0.0.1", port(a), Duration.ofSeconds(10));
        final BlockLease lease = pa.hold(b.name(), "req-2", new int[] {0, 7}, Duration.ofMillis(400));
        final long end = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < end)
        {
            toA.heartbeat("req-2");
            Thread.sleep(50);
        }
        assertThat(lease.state()).isEqualTo(BlockLease.State.HELD);
        assertThat(pa.isHeld(7)).isTrue();
        toA.release("req-2");
        assertThat(lease.awaitEnd(Duration.ofSeconds(10))).isEqualTo(BlockLease.State.RELEASED);
        assertThat(pa.isHeld(7)).isFalse();
        assertThat(toA.wasExpired("req-2")).isFalse();
    }

    @Test
    void losingThePeerEndsItsLeasesAndWaitsForItsMessages()
    {
        final BlockLayout layout = new BlockLayout("m", 1, 4, 4096);
        final BlockPool pa = a.createBlockPool(layout, regions(arena, layout, 1));
        final Connector c = Connector.create(Fixtures.unique("c"));
        try
        {
            final BlockPool pc = c.createBlockPool(layout, regions(arena, layout, -1));
            pc.handshake("127.0.0.1", port(a), Duration.ofSeconds(10));
            pa.awaitPeer(c.name(), Duration.ofSeconds(10));
            final BlockLease lease = pa.hold(c.name(), "req-3", new int[] {1}, Duration.ofSeconds(60));
            c.close();
            assertThat(lease.awaitEnd(Duration.ofSeconds(10))).isEqualTo(BlockLease.State.EXPIRED);
            assertThat(lease.reason()).contains("was lost");
            expectError(ErrorCode.REMOTE_DISCONNECT, () -> a.awaitMessage(c.name(), x -> true,
                Duration.ofSeconds(30)));
        }
        finally
        {
            c.close();
        }
    }

    @Test
    void messagesGoBothWaysAndClosedConnectorsRefuseWork()
    {
        final BlockLayout layout = new BlockLayout("m", 1, 4, 4096);
        a.createBlockPool(layout, regions(arena, layout, -1));
        b.createBlockPool(layout, regions(arena, layout, -1)).handshake("127.0.0.1", port(a), Duration.ofSeconds(10));
        b.sendMessage(a.name(), "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(a.awaitMessage(x -> x.payloadAsString().equals("hello"), Duration.ofSeconds(10)).sender())
            .isEqualTo(b.name());
        expectError(ErrorCode.TIMED_OUT, () -> a.awaitMessage(b.name(), x -> true, Duration.ofMillis(50)));
        assertThat(a.hostname()).isNotBlank();
        assertThat(a.isCudaAvailable()).isFalse();
        b.close();
        expectError(ErrorCode.NOT_ALLOWED, () -> b.createReadable(List.of(Descriptor.of(filled(64, 1)))));
    }
}
