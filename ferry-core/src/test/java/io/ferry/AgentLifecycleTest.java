package io.ferry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static io.ferry.Fixtures.expectError;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test item 6 and the agent's life cycle: names, configuration, closing.
 */
@Timeout(30)
class AgentLifecycleTest
{
    @Test
    void emptyNameIsRejected()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder("").build());
        expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder("   ").build());
        expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder(null).build());
        expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder("bad\nname").build());
    }

    @Test
    void nameMustBeUniqueAmongLiveAgentsAndIsFreedOnClose()
    {
        final String name = unique("dup");
        final Agent first = Agent.create(AgentConfig.builder(name).backends("LOCAL").build());
        final FerryException ex = expectError(ErrorCode.INVALID_PARAM,
            () -> Agent.create(AgentConfig.builder(name).backends("LOCAL").build()));
        assertThat(ex.getMessage()).contains(name);
        first.close();
        Agent.create(AgentConfig.builder(name).backends("LOCAL").build()).close();
    }

    @Test
    void timeoutMustBePositive()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder("a").defaultTimeout(Duration.ZERO));
        expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder("a").defaultTimeout(Duration.ofSeconds(-1)));
    }

    @Test
    void closedAgentRefusesWorkAndCloseIsIdempotent()
    {
        final Agent agent = Fixtures.localAgent("closed");
        agent.close();
        agent.close();
        assertThat(agent.isClosed()).isTrue();
        expectError(ErrorCode.NOT_ALLOWED, agent::localMetadata);
        expectError(ErrorCode.NOT_ALLOWED, () -> agent.prepare(DescList.builder(MemoryKind.DRAM).add(8, 8).build()));
    }

    @Test
    void closeWakesNotificationWaiters() throws Exception
    {
        final Agent agent = Fixtures.localAgent("waiter");
        final Thread closer = new Thread(() ->
        {
            try
            {
                Thread.sleep(100);
            }
            catch (final InterruptedException ignore)
            {
                Thread.currentThread().interrupt();
            }
            agent.close();
        });
        closer.start();
        expectError(ErrorCode.CANCELED, () -> agent.awaitNotification(Duration.ofSeconds(20)));
        closer.join();
    }

    @Test
    void parseNamesOfOperationsAndKinds()
    {
        assertThat(TransferOp.parse("read")).isEqualTo(TransferOp.READ);
        assertThat(TransferOp.parse(" WRITE ")).isEqualTo(TransferOp.WRITE);
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> TransferOp.parse("PUSH")).getMessage())
            .contains("PUSH");
        expectError(ErrorCode.INVALID_PARAM, () -> TransferOp.parse(null));
        assertThat(MemoryKind.parse("obj")).isEqualTo(MemoryKind.OBJECT);
        assertThat(MemoryKind.parse("cuda")).isEqualTo(MemoryKind.VRAM);
        assertThat(MemoryKind.parse("BLK")).isEqualTo(MemoryKind.BLOCK);
        expectError(ErrorCode.INVALID_PARAM, () -> MemoryKind.parse("HBM"));
    }

    @Test
    void errorCodesMirrorNixlStatusValues()
    {
        assertThat(ErrorCode.NOT_POSTED.nixlStatus()).isEqualTo(-1);
        assertThat(ErrorCode.INVALID_PARAM.nixlStatus()).isEqualTo(-2);
        assertThat(ErrorCode.REMOTE_DISCONNECT.nixlStatus()).isEqualTo(-10);
        assertThat(ErrorCode.NO_TELEMETRY.nixlStatus()).isEqualTo(-12);
    }
}
