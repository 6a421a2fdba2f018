package io.ferry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.ferry.Fixtures.expectError;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test items 7-11: local metadata, registration per memory kind, exact deregistration, repeated cycles.
 */
@Timeout(60)
class RegistrationTest
{
    private Arena arena;
    private Agent agent;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        agent = Fixtures.localAgent("reg");
    }

    @AfterEach
    void tearDown()
    {
        agent.close();
        arena.close();
    }

    @Test
    void localMetadataIsNonEmptyOnceABackendExists()
    {
        final byte[] md = agent.localMetadata();
        assertThat(md).isNotEmpty();
    }

    @Test
    void agentWithoutRemoteBackendHasNoMetadata()
    {
        try (Agent bare = Agent.create(AgentConfig.builder(unique("bare")).backends(List.of()).build()))
        {
            assertThat(bare.backendNames()).isEmpty();
            expectError(ErrorCode.INVALID_PARAM, bare::localMetadata);
            expectError(ErrorCode.NOT_FOUND,
                () -> bare.register(MemoryKind.DRAM, List.of(Region.of(arena.allocate(64)))));
        }
    }

    @Test
    void registerAndDeregisterDram()
    {
        final MemorySegment seg = arena.allocate(1 << 16, 64);
        final Registration reg = agent.register(MemoryKind.DRAM, List.of(Region.of(seg)));
        assertThat(reg.isRegistered()).isTrue();
        assertThat(reg.backends()).containsExactly("LOCAL");
        assertThat(reg.descs().get(0)).isEqualTo(new MemoryDesc(seg.address(), seg.byteSize(), 0));
        assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isEqualTo(1);
        reg.close();
        reg.close();
        assertThat(reg.isRegistered()).isFalse();
        assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = MemoryKind.class, names = {"VRAM", "BLOCK", "OBJECT", "FILE"})
    void kindsLocalDoesNotMoveAreNotFound(final MemoryKind kind)
    {
        final FerryException ex = expectError(ErrorCode.NOT_FOUND,
            () -> agent.register(kind, List.of(Region.ofAddress(0, 4096, 0))));
        assertThat(ex.getMessage()).contains(kind.name()).contains("LOCAL");
    }

    @Test
    void deregisterNeedsExactMatchAndRemovesNothingOtherwise()
    {
        final MemorySegment a = arena.allocate(8192, 64);
        final MemorySegment b = arena.allocate(8192, 64);
        agent.register(MemoryKind.DRAM, List.of(Region.of(a), Region.of(b)));

        final DescList inexact = DescList.builder(MemoryKind.DRAM)
            .add(a.address(), a.byteSize())
            .add(b.address(), b.byteSize() - 1)
            .build();
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, () -> agent.deregister(MemoryKind.DRAM, inexact));
        assertThat(ex.getMessage()).contains("descriptor 1");
        assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isEqualTo(2);

        agent.deregister(MemoryKind.DRAM, DescList.dram(a, b));
        assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isZero();
        expectError(ErrorCode.NOT_FOUND, () -> agent.deregister(MemoryKind.DRAM, DescList.dram(a)));
    }

    @Test
    void duplicateRegistrationsAreDeregisteredOneByOne()
    {
        final MemorySegment a = arena.allocate(4096, 64);
        agent.register(MemoryKind.DRAM, List.of(Region.of(a)));
        agent.register(MemoryKind.DRAM, List.of(Region.of(a)));
        agent.deregister(MemoryKind.DRAM, DescList.dram(a, a));
        assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isZero();
    }

    @Test
    void badRegionsAreRefusedWithTheirIndex()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.DRAM, List.of()));
        expectError(ErrorCode.INVALID_PARAM, () -> Region.of(MemorySegment.ofArray(new byte[64])));
        expectError(ErrorCode.INVALID_PARAM, () -> Region.of(arena.allocate(0)));
        final FerryException empty = expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.DRAM,
            List.of(Region.of(arena.allocate(64)), Region.ofAddress(4096, 0, 0))));
        assertThat(empty.getMessage()).contains("region 1");
        final Arena closed = Arena.ofConfined();
        final MemorySegment gone = closed.allocate(64);
        final Region region = Region.of(gone);
        closed.close();
        expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.DRAM, List.of(region)));
        assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isZero();
    }

    @Test
    void manyRegisterDeregisterCyclesLeaveNothingBehind()
    {
        final List<Region> regions = new ArrayList<>();
        for (int i = 0; i < 128; i++)
        {
            regions.add(Region.of(arena.allocate(4096, 64)));
        }
        for (int cycle = 0; cycle < 64; cycle++)
        {
            final Registration reg = agent.register(MemoryKind.DRAM, regions);
            assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isEqualTo(128);
            reg.close();
            assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isZero();
        }
    }

    @Test
    void concurrentRegistrationsFromManyThreads() throws Exception
    {
        final int threads = 4;
        final int perThread = 200;
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            final List<Future<List<Registration>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                futures.add(pool.submit(() ->
                {
                    final List<Registration> mine = new ArrayList<>();
                    for (int i = 0; i < perThread; i++)
                    {
                        mine.add(agent.register(MemoryKind.DRAM, List.of(Region.of(arena.allocate(256, 64)))));
                    }
                    return mine;
                }));
            }
            final List<Registration> all = new ArrayList<>();
            for (final Future<List<Registration>> f : futures)
            {
                all.addAll(f.get());
            }
            assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isEqualTo(threads * perThread);
            final List<Future<?>> closes = new ArrayList<>();
            for (final Registration r : all)
            {
                closes.add(pool.submit(r::close));
            }
            for (final Future<?> f : closes)
            {
                f.get();
            }
            assertThat(agent.registeredRegionCount(MemoryKind.DRAM)).isZero();
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void registrationIsLimitedToNamedBackends()
    {
        final MemorySegment seg = arena.allocate(4096, 64);
        assertThat(agent.register(MemoryKind.DRAM, List.of(Region.of(seg)), "LOCAL").backends())
            .containsExactly("LOCAL");
        expectError(ErrorCode.NOT_FOUND, () -> agent.register(MemoryKind.DRAM, List.of(Region.of(seg)), "TCP"));
    }
}
