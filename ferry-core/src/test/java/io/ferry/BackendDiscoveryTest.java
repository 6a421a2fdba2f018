package io.ferry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;

import static io.ferry.Fixtures.expectError;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test items 1-5: plugin listing and parameters, backend creation errors.
 */
@Timeout(30)
class BackendDiscoveryTest
{
    @Test
    void localBackendIsFoundByServiceLoader()
    {
        assertThat(Agent.availableBackends()).contains("LOCAL");
    }

    @Test
    void pluginParamsOfKnownBackendListKindsAndDefaults()
    {
        final BackendInfo info = Agent.backendInfo("LOCAL");
        assertThat(info.name()).isEqualTo("LOCAL");
        assertThat(info.memoryKinds()).containsExactly(MemoryKind.DRAM);
        assertThat(info.params()).containsEntry("copy_threads", "0");
        assertThat(info.available()).isTrue();
    }

    @Test
    void pluginParamsOfUnknownBackendIsNotFound()
    {
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, () -> Agent.backendInfo("NO_SUCH_BACKEND"));
        assertThat(ex.getMessage()).contains("NO_SUCH_BACKEND").contains("LOCAL");
    }

    @Test
    void creatingUnknownBackendIsNotFound()
    {
        expectError(ErrorCode.NOT_FOUND,
            () -> Agent.create(AgentConfig.builder(unique("a")).backends("NO_SUCH_BACKEND").build()));
    }

    @Test
    void sameBackendTwiceIsInvalidParam()
    {
        expectError(ErrorCode.INVALID_PARAM,
            () -> AgentConfig.builder(unique("a")).backends("LOCAL", "LOCAL"));
    }

    @Test
    void unknownParameterIsInvalidParamAndNamesKnownOnes()
    {
        final FerryException ex = expectError(ErrorCode.INVALID_PARAM, () -> Agent.create(
            AgentConfig.builder(unique("a")).backend("LOCAL", Map.of("bogus", "1")).build()));
        assertThat(ex.getMessage()).contains("bogus").contains("copy_threads");
    }

    @Test
    void badParameterValueIsInvalidParam()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> Agent.create(
            AgentConfig.builder(unique("a")).backend("LOCAL", Map.of("copy_threads", "many")).build()));
    }

    @Test
    void backendParamsOfCreatedBackendShowEffectiveValues()
    {
        try (Agent agent = Agent.create(AgentConfig.builder(unique("a"))
            .backend("LOCAL", Map.of("copy_threads", "2")).build()))
        {
            assertThat(agent.backendNames()).isEqualTo(List.of("LOCAL"));
            assertThat(agent.backendParams("LOCAL").params()).containsEntry("copy_threads", "2");
            expectError(ErrorCode.NOT_FOUND, () -> agent.backendParams("TCP"));
        }
    }

    @Test
    void defaultConfigCreatesEveryAvailableBackend()
    {
        try (Agent agent = Agent.create(AgentConfig.builder(unique("a")).build()))
        {
            assertThat(agent.backendNames()).isEqualTo(Agent.availableBackends());
        }
    }
}
