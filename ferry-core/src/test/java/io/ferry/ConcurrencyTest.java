package io.ferry;


import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.testing.TestData.fill;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test items 22, 23 and 28: transfers of many sizes from several threads with data verified, notification
 * floods from several threads to a peer and to self, and concurrent use of one agent.
 */
@Timeout(120)
class ConcurrencyTest
{
    private Arena arena;
    private Agent initiator;
    private Agent target;
    private String peer;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        initiator = Fixtures.localAgent("init");
        target = Fixtures.localAgent("target");
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

    static Stream<Arguments> sizes()
    {
        final List<Arguments> out = new ArrayList<>();
        final long[][] shapes = {{4096, 8}, {32768, 64}, {1_000_000, 100}, {40, 1000}};
        for (final long[] shape : shapes)
        {
            for (final TransferOp op : TransferOp.values())
            {
                for (final int threads : new int[] {1, 4})
                {
                    out.add(Arguments.of(shape[0], (int)shape[1], op, threads));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{1} x {0} B {2} on {3} threads")
    @MethodSource("sizes")
    void randomSizesFromSeveralThreadsWithDataVerified(
        final long size, final int count, final TransferOp op, final int threads) throws Exception
    {
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            final List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int seed = t;
                jobs.add(pool.submit(() ->
                {
                    final MemorySegment local = arena.allocate(size * count, 64);
                    final MemorySegment remote = arena.allocate(size * count, 64);
                    fill(op == TransferOp.WRITE ? local : remote, seed * 1000L + size);
                    initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
                    final Registration reg = target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
                    initiator.loadRemoteMetadata(target.partialMetadata(reg.descs(), false));
                    final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, count);
                    final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, count);
                    for (int i = 0; i < count; i++)
                    {
                        lb.add(local.address() + i * size, size);
                        // remote blocks in reverse order so that nothing merges
                        rb.add(remote.address() + (long)(count - 1 - i) * size, size);
                    }
                    final Transfer x = initiator.createTransfer(op, lb.build(), rb.build(), peer,
                        TransferOptions.notify(("t" + seed).getBytes()));
                    for (int repeat = 0; repeat < 2; repeat++)
                    {
                        x.post();
                        x.await(Duration.ofSeconds(30));
                    }
                    for (int i = 0; i < count; i++)
                    {
                        assertSameBytes(local.asSlice(i * size, size),
                            remote.asSlice((long)(count - 1 - i) * size, size));
                    }
                    return null;
                }));
            }
            for (final Future<?> f : jobs)
            {
                f.get();
            }
            assertThat(target.pollNotifications()).hasSize(threads * 2);
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void notificationFloodFromFourThreadsToPeerAndSelf() throws Exception
    {
        final int threads = 4;
        final int each = 100;
        final CyclicBarrier start = new CyclicBarrier(threads);
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            final List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                jobs.add(pool.submit(() ->
                {
                    start.await();
                    for (int i = 0; i < each; i++)
                    {
                        final byte[] msg = ByteBuffer.allocate(8).putInt(id).putInt(i).array();
                        initiator.sendNotification(peer, msg);
                        initiator.sendNotification(initiator.name(), msg);
                    }
                    initiator.sendNotification(peer, new byte[0]);
                    return null;
                }));
            }
            for (final Future<?> f : jobs)
            {
                f.get();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
        final List<Notification> atPeer = target.pollNotifications();
        final List<Notification> atSelf = initiator.pollNotifications();
        assertThat(atPeer).hasSize(threads * each + threads).allMatch(n -> n.sender().equals(initiator.name()));
        assertThat(atSelf).hasSize(threads * each);
        final Set<String> distinct = new HashSet<>();
        for (final Notification n : atSelf)
        {
            final ByteBuffer b = ByteBuffer.wrap(n.payload());
            distinct.add(b.getInt() + ":" + b.getInt());
        }
        assertThat(distinct).hasSize(threads * each);
        assertThat(atPeer.stream().filter(n -> 0 == n.length()).count()).isEqualTo(threads);
    }

    @Test
    void awaitNotificationTakesTheMatchingOneAndTimesOut()
    {
        initiator.sendNotification(peer, "a".getBytes());
        initiator.sendNotification(peer, "b".getBytes());
        final Notification b = target.awaitNotification(n -> n.payloadAsString().equals("b"), Duration.ofSeconds(5));
        assertThat(b.payloadAsString()).isEqualTo("b");
        assertThat(b.startsWith("b".getBytes())).isTrue();
        final FerryException ex = Fixtures.expectError(ErrorCode.TIMED_OUT,
            () -> target.awaitNotification(n -> n.payloadAsString().equals("c"), Duration.ofMillis(50)));
        assertThat(ex.getMessage()).contains("1 others are queued");
        assertThat(target.pollNotifications()).extracting(Notification::payloadAsString).containsExactly("a");
    }

    @Test
    void waiterWakesWhenANotificationArrivesFromAnotherThread() throws Exception
    {
        final Thread sender = new Thread(() ->
        {
            try
            {
                Thread.sleep(50);
            }
            catch (final InterruptedException ignore)
            {
                Thread.currentThread().interrupt();
            }
            initiator.sendNotification(peer, "late".getBytes());
        });
        sender.start();
        assertThat(target.awaitNotification(Duration.ofSeconds(10)).payloadAsString()).isEqualTo("late");
        sender.join();
    }

    @Test
    void sharedAgentServesConcurrentTransfersRegistrationsAndMetadataLoads() throws Exception
    {
        final int threads = 4;
        final int rounds = 50;
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            final List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                jobs.add(pool.submit(() ->
                {
                    for (int r = 0; r < rounds; r++)
                    {
                        final MemorySegment local = arena.allocate(8192, 64);
                        final MemorySegment remote = arena.allocate(8192, 64);
                        fill(local, id * 7919L + r);
                        try (Registration lr = initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
                            Registration rr = target.register(MemoryKind.DRAM, List.of(Region.of(remote))))
                        {
                            initiator.loadRemoteMetadata(target.partialMetadata(rr.descs(), false));
                            final Transfer x = initiator.createTransfer(TransferOp.WRITE, lr.descs(), rr.descs(),
                                peer, null);
                            x.post();
                            x.await(Duration.ofSeconds(10));
                            assertSameBytes(local, remote);
                        }
                    }
                    return null;
                }));
            }
            for (final Future<?> f : jobs)
            {
                f.get();
            }
        }
        finally
        {
            pool.shutdownNow();
        }
    }
}
