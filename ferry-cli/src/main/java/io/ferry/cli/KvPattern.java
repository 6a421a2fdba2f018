package io.ferry.cli;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Deterministic KV-block content for the demo: every 8-byte word depends on the request, the region (layer and
 * K/V), the block's place in the request and the word's offset, so a block landing in the wrong slot, region or
 * request is caught, not just a corrupted byte.
 */
final class KvPattern
{
    private KvPattern()
    {
    }

    static long seed(final int request, final int region, final int blockInRequest)
    {
        return ((long)request << 42) ^ ((long)region << 21) ^ blockInRequest;
    }

    private static long word(final long seed, final long index)
    {
        long x = seed * 0x9E3779B97F4A7C15L + index * 0xD1B54A32D192ED03L;
        x = (x ^ (x >>> 31)) * 0xBF58476D1CE4E5B9L;
        return x ^ (x >>> 29);
    }

    static void fill(final MemorySegment block, final long seed)
    {
        final long words = block.byteSize() >>> 3;
        for (long i = 0; i < words; i++)
        {
            block.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, word(seed, i));
        }
    }

    /**
     * @return the byte offset of the first word that differs, or -1 when the block is as filled.
     */
    static long firstMismatch(final MemorySegment block, final long seed)
    {
        return firstMismatch(block, seed, 0);
    }

    /**
     * @param block     bytes that should hold the pattern from word {@code firstWord} on.
     * @param seed      the pattern's seed.
     * @param firstWord the index of the block's first word in the filled span.
     * @return the byte offset of the first word that differs, or -1.
     */
    static long firstMismatch(final MemorySegment block, final long seed, final long firstWord)
    {
        final long words = block.byteSize() >>> 3;
        for (long i = 0; i < words; i++)
        {
            if (block.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i) != word(seed, firstWord + i))
            {
                return i << 3;
            }
        }
        return -1;
    }
}
