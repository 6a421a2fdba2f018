package io.ferry.testing;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test data: block orders, seeded bytes and a byte comparison that names the first difference.
 */
public final class TestData
{
    private TestData()
    {
    }

    /**
     * @param count  how many slots.
     * @param random the source of the order.
     * @return a random permutation of 0..count-1 (span i goes to slot permutation[i]).
     */
    public static int[] permutation(final int count, final Random random)
    {
        final List<Integer> order = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            order.add(i);
        }
        Collections.shuffle(order, random);
        return order.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Fills a segment with bytes that depend only on the seed.
     *
     * @param segment what to fill.
     * @param seed    the seed.
     */
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

    /**
     * Asserts two segments hold the same bytes; the failure names the first byte that differs.
     *
     * @param expected what should be there.
     * @param actual   what is there.
     */
    public static void assertSameBytes(final MemorySegment expected, final MemorySegment actual)
    {
        assertThat(actual.byteSize()).isEqualTo(expected.byteSize());
        assertThat(MemorySegment.mismatch(expected, 0, expected.byteSize(), actual, 0, actual.byteSize()))
            .as("first differing byte").isEqualTo(-1L);
    }
}
