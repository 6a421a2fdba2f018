package io.ferry;

import org.assertj.core.api.ThrowableAssert;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Helpers shared by the tests of every module (published as ferry-core's test jar): uniquely named agents,
 * deterministic memory patterns, error expectations.
 */
public final class Fixtures
{
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private Fixtures()
    {
    }

    public static String unique(final String prefix)
    {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    }

    public static Agent localAgent(final String prefix)
    {
        return Agent.create(AgentConfig.builder(unique(prefix)).backends("LOCAL").build());
    }

    public static FerryException expectError(final ErrorCode code, final ThrowableAssert.ThrowingCallable call)
    {
        final FerryException ex = catchThrowableOfType(FerryException.class, call);
        assertThat(ex).as("expected FerryException " + code).isNotNull();
        assertThat(ex.code()).as(ex.getMessage()).isEqualTo(code);
        return ex;
    }

    /**
     * @param agent an agent.
     * @return its backends, in order of preference (a test reaches into one, e.g. to break a TCP path).
     */
    public static java.util.List<io.ferry.spi.Backend> backends(final Agent agent)
    {
        return agent.backends();
    }
}
