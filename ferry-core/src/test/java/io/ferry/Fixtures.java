package io.ferry;

import org.assertj.core.api.ThrowableAssert;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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

    /**
     * @param count  how many slots.
     * @param random the source of the order.
     * @return a random permutation of 0..count-1 (span i goes to slot permutation[i]).
     */
    public static int[] permutation(final int count, final java.util.Random random)
    {
        final java.util.List<Integer> order = new java.util.ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            order.add(i);
        }
        java.util.Collections.shuffle(order, random);
        return order.stream().mapToInt(Integer::intValue).toArray();
    }

    public static void fill(final MemorySegment segment, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final long size = segment.byteSize();
        long i = 0;
        for (; i + 8 <= size; i += 8)
        {
            segment.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
        for (; i < size; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte)random.nextInt());
        }
    }

    public static void assertSameBytes(final MemorySegment expected, final MemorySegment actual)
    {
        assertThat(actual.byteSize()).isEqualTo(expected.byteSize());
        assertThat(MemorySegment.mismatch(expected, 0, expected.byteSize(), actual, 0, actual.byteSize()))
            .as("first differing byte").isEqualTo(-1L);
    }

    public static FerryException expectError(final ErrorCode code, final ThrowableAssert.ThrowingCallable call)
    {
        final FerryException ex = catchThrowableOfType(FerryException.class, call);
        assertThat(ex).as("expected FerryException " + code).isNotNull();
        assertThat(ex.code()).as(ex.getMessage()).isEqualTo(code);
        return ex;
    }
}
