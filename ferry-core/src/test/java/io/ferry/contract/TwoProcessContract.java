package io.ferry.contract;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.testing.TestData;
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

import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What every remote backend must do between two processes, written once: a backend's test extends it and says how
 * to make the initiating agent and what the peer process runs. The peer is {@link ContractPeerMain} in a child JVM
 * with one 64 MiB region; metadata goes through files.
 */
@Timeout(240)
public abstract class TwoProcessContract
{
    /** Bytes of each side's region. */
    protected static final long SIZE = 64L << 20;

    @TempDir
    protected Path dir;

    protected Arena arena;
    protected Agent agent;
    protected MemorySegment local;

    /**
     * @param prefix the agent name's prefix.
     * @return the initiating agent, with the backend under test.
     */
    protected abstract Agent initiator(String prefix);

    /** @return the backend under test, as the peer names it and as {@link Transfer#backend()} reports it. */
    protected abstract String backend();

    /** @return the peer's backend parameters, key=value. */
    protected abstract String[] peerParams();

    /** @return the longest a killed peer may take to fail a transfer. */
    protected Duration deathDeadline()
    {
        return Duration.ofSeconds(15);
    }

    @BeforeEach
    void setUpContract()
    {
        arena = Arena.ofShared();
        agent = initiator("parent");
        local = arena.allocate(SIZE, 4096);
        agent.register(MemoryKind.DRAM, List.of(Region.of(local)));
    }

    @AfterEach
    void tearDownContract()
    {
        agent.close();
        arena.close();
    }

    protected ContractPeer peer(final String prefix) throws Exception
    {
        return new ContractPeer(unique(prefix), SIZE, dir, backend(), peerParams());
    }

    /** Loads each side's metadata into the other; returns the peer's name. */
    protected String exchange(final ContractPeer peer) throws Exception
    {
        final String name = agent.loadRemoteMetadata(peer.metadata);
        final Path mine = dir.resolve(agent.name() + ".md");
        Files.write(mine, agent.localMetadata());
        assertThat(peer.command("load " + mine, 30)).containsExactly(agent.name());
        return name;
    }

    protected long remoteBase(final String peer)
    {
        return agent.peerRegions(peer, MemoryKind.DRAM).address(0);
    }

    private Transfer run(final TransferOp op, final DescList l, final DescList r, final String peer,
        final TransferOptions options)
    {
        final Transfer t = agent.createTransfer(op, l, r, peer, options);
        t.post();
        t.await(Duration.ofSeconds(60));
        assertThat(t.backend()).isEqualTo(backend());
        return t;
    }

    @Test
    void everySizeFrom1ByteTo64MiBBothWaysWithTheNotificationAfterTheData() throws Exception
    {
        try (ContractPeer peer = peer("child"))
        {
            final String name = exchange(peer);
            final long base = remoteBase(name);
            final SplittableRandom random = new SplittableRandom(17);
            for (final long size : new long[] {1, 4095, 1 << 20, 9_999_999, SIZE})
            {
                final long lo = size == SIZE ? 0 : random.nextLong(SIZE - size);
                final long ro = size == SIZE ? 0 : random.nextLong(SIZE - size);
                TestData.fill(local.asSlice(lo, size), size);
                run(TransferOp.WRITE, DescList.dram(local.asSlice(lo, size)),
                    DescList.builder(MemoryKind.DRAM).add(base + ro, size).build(), name,
                    TransferOptions.notify(("w" + size).getBytes(StandardCharsets.UTF_8))).close();
                // the peer takes the CRC the moment it takes the notification: the data must be there already
                assertThat(peer.command("notifcrc 10000 " + ro + " " + size, 30)).containsExactly(agent.name() + " w" +
                    size + " " + ContractPeerMain.crc(local.asSlice(lo, size)));
                peer.command("fill " + (size + 1), 60);
                run(TransferOp.READ, DescList.dram(local.asSlice(lo, size)),
                    DescList.builder(MemoryKind.DRAM).add(base + ro, size).build(), name, null).close();
                assertThat(ContractPeerMain.crc(local.asSlice(lo, size))).isEqualTo(peer.crc(ro, size));
            }
        }
    }

    @Test
    void randomDescriptorListsBothWays() throws Exception
    {
        try (ContractPeer peer = peer("lists"))
        {
            final String name = exchange(peer);
            final long base = remoteBase(name);
            final MemorySegment back = arena.allocate(SIZE, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(back)));
            final SplittableRandom random = new SplittableRandom(29);
            final int slots = 4096;
            final long slot = SIZE / slots;
            for (int round = 0; round < 4; round++)
            {
                final int n = 1 + random.nextInt(slots);
                final int[] localSlots = TestData.permutation(slots, new java.util.Random(round));
                final int[] remoteSlots = TestData.permutation(slots, new java.util.Random(round + 100));
                final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, n);
                final DescList.Builder bb = DescList.builder(MemoryKind.DRAM, n);
                final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, n);
                for (int i = 0; i < n; i++)
                {
                    final long len = 1 + random.nextLong(slot);
                    final long lo = localSlots[i] * slot + random.nextLong(slot - len + 1);
                    final long ro = remoteSlots[i] * slot + random.nextLong(slot - len + 1);
                    lb.add(local.address() + lo, len);
                    bb.add(back.address() + lo, len);
                    rb.add(base + ro, len);
                }
                TestData.fill(local, 1000 + round);
                final DescList spans = lb.build();
                final DescList remote = rb.build();
                run(TransferOp.WRITE, spans, remote, name, null).close();
                run(TransferOp.READ, bb.build(), remote, name, null).close();
                for (int i = 0; i < n; i++)
                {
                    final long off = spans.address(i) - local.address();
                    TestData.assertSameBytes(local.asSlice(off, spans.length(i)), back.asSlice(off, spans.length(i)));
                }
                // and the peer holds what was written where it was written
                final long first = remote.address(0) - base;
                assertThat(peer.crc(first, remote.length(0))).isEqualTo(ContractPeerMain.crc(
                    local.asSlice(spans.address(0) - local.address(), spans.length(0))));
            }
        }
    }

    @Test
    void aKilledPeerFailsTheTransferWithinTheDeadlineAndIsDropped() throws Exception
    {
        try (ContractPeer peer = peer("victim"))
        {
            final String name = exchange(peer);
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local),
                DescList.builder(MemoryKind.DRAM).add(remoteBase(name), SIZE).build(), name, null);
            agent.connect(name);
            t.post();
            t.await(Duration.ofSeconds(60));
            final Thread killer = Thread.ofPlatform().start(() ->
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
            final long start = System.nanoTime();
            final FerryException ex = catchThrowableOfType(FerryException.class, () ->
            {
                for (int i = 0; i < 100_000; i++)
                {
                    t.post();
                    t.await(deathDeadline().plusSeconds(5));
                }
            });
            killer.join();
            assertThat(ex).as("a transfer to the killed peer failed").isNotNull();
            assertThat(ex.code()).as(ex.getMessage()).isIn(ErrorCode.REMOTE_DISCONNECT, ErrorCode.NOT_FOUND);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(deathDeadline());
            assertThat(agent.peers()).doesNotContain(name);
        }
    }

    @Test
    void anInvalidatedPeerRefusesPostsUntilItIsLoadedAgain() throws Exception
    {
        try (ContractPeer peer = peer("reloaded"))
        {
            final String name = exchange(peer);
            final DescList remote = DescList.builder(MemoryKind.DRAM).add(remoteBase(name), 1 << 20).build();
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 1 << 20)),
                remote, name, null);
            t.post();
            t.await(Duration.ofSeconds(30));
            agent.invalidateRemote(name);
            final FerryException ex = catchThrowableOfType(FerryException.class, t::post);
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.NOT_FOUND);
            assertThat(ex.getMessage()).contains(name);
            assertThat(agent.loadRemoteMetadata(peer.metadata)).isEqualTo(name);
            TestData.fill(local.asSlice(0, 1 << 20), 5);
            run(TransferOp.WRITE, DescList.dram(local.asSlice(0, 1 << 20)), remote, name,
                TransferOptions.notify("again".getBytes(StandardCharsets.UTF_8))).close();
            assertThat(peer.command("notifcrc 10000 0 " + (1 << 20), 30)).containsExactly(agent.name() + " again " +
                ContractPeerMain.crc(local.asSlice(0, 1 << 20)));
        }
    }
}
