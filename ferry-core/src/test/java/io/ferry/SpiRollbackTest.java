package io.ferry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;

import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The agent's rollback when a backend fails half-way (a fake backend that fails where told): registration is
 * all-or-nothing per backend, and a peer whose loading failed leaves no trace in any backend.
 */
class SpiRollbackTest
{
    private Arena arena;

    @BeforeEach
    void on()
    {
        System.setProperty("ferry.test.fake", "on");
        arena = Arena.ofShared();
    }

    @AfterEach
    void off()
    {
        System.clearProperty("ferry.test.fake");
        arena.close();
    }

    private static Agent agent(final String failRegisterAt, final String failConnectionInfo)
    {
        return Agent.create(AgentConfig.builder(unique("spi")).listenPort(-1).backend("LOCAL", Map.of())
            .backend(FakeBackend.NAME, Map.of("fail_register_at", failRegisterAt, "fail_connection_info",
                failConnectionInfo)).build());
    }

    @Test
    void aBackendFailingHalfWayThroughARegistrationKeepsNoneOfItWhileTheOthersKeepAll()
    {
        try (Agent a = agent("2", "false"))
        {
            final FakeBackend fake = FakeBackend.Provider.last;
            final List<Region> three = List.of(Region.of(arena.allocate(4096)), Region.of(arena.allocate(4096)),
                Region.of(arena.allocate(4096)));
            final Registration reg = a.register(MemoryKind.DRAM, three);
            assertThat(fake.registered).as("FAKE failed its second region: its first was rolled back").isEmpty();
            assertThat(a.registeredRegionCount(MemoryKind.DRAM)).isEqualTo(3);
            reg.close();
            assertThat(a.registeredRegionCount(MemoryKind.DRAM)).isZero();
        }
    }

    @Test
    void whenEveryBackendFailsNothingIsRegisteredAnywhere()
    {
        try (Agent a = Agent.create(AgentConfig.builder(unique("spi")).listenPort(-1)
            .backend(FakeBackend.NAME, Map.of("fail_register_at", "3")).build()))
        {
            final FakeBackend fake = FakeBackend.Provider.last;
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> a.register(MemoryKind.DRAM,
                List.of(Region.of(arena.allocate(4096)), Region.of(arena.allocate(4096)),
                    Region.of(arena.allocate(4096)))));
            assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
            assertThat(ex.getMessage()).contains("FAKE refuses register call 3");
            assertThat(fake.registered).isEmpty();
            assertThat(a.registeredRegionCount(MemoryKind.DRAM)).isZero();
            // and the next registration works
            a.register(MemoryKind.DRAM, List.of(Region.of(arena.allocate(4096))));
            assertThat(fake.registered).hasSize(1);
        }
    }

    @Test
    void aPeerWhoseConnectionInfoABackendRefusesIsNotLoadedAndLeavesNoTrace()
    {
        try (Agent target = agent("0", "false"); Agent picky = Agent.create(AgentConfig.builder(unique("picky"))
            .listenPort(-1).backend(FakeBackend.NAME, Map.of("fail_connection_info", "true")).build()))
        {
            final FakeBackend fake = FakeBackend.Provider.last;
            target.register(MemoryKind.DRAM, List.of(Region.of(arena.allocate(4096))));
            final FerryException ex = catchThrowableOfType(FerryException.class,
                () -> picky.loadRemoteMetadata(target.localMetadata()));
            assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
            assertThat(picky.peers()).isEmpty();
            assertThat(fake.peers).isEmpty();
        }
    }
}
