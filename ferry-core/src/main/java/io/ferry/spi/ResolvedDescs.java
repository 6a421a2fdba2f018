package io.ferry.spi;

/**
 * One side of a transfer request after the agent resolved and merged it: for each span, the backend's handle of
 * the region it lies in, its offset inside that region and its length. Parallel primitive arrays, no object per
 * span; built once per request, read on every post.
 */
public final class ResolvedDescs
{
    private final MemoryHandle[] handles;
    private final long[] offsets;
    private final long[] lengths;
    private int count;
    private long totalBytes;

    /**
     * @param capacity the most spans it will hold.
     */
    public ResolvedDescs(final int capacity)
    {
        handles = new MemoryHandle[capacity];
        offsets = new long[capacity];
        lengths = new long[capacity];
    }

    /**
     * @param handle the region's handle.
     * @param offset offset of the span inside the region.
     * @param length length of the span.
     */
    public void add(final MemoryHandle handle, final long offset, final long length)
    {
        handles[count] = handle;
        offsets[count] = offset;
        lengths[count] = length;
        count++;
        totalBytes += length;
    }

    /**
     * Grows the last span by {@code length} bytes (merging a contiguous neighbour).
     *
     * @param length bytes to add.
     */
    public void extendLast(final long length)
    {
        lengths[count - 1] += length;
        totalBytes += length;
    }

    /**
     * @return the number of spans.
     */
    public int count()
    {
        return count;
    }

    /**
     * @param i span index.
     * @return the region handle of span {@code i}.
     */
    public MemoryHandle handle(final int i)
    {
        return handles[i];
    }

    /**
     * @param i span index.
     * @return offset of span {@code i} inside its region.
     */
    public long offset(final int i)
    {
        return offsets[i];
    }

    /**
     * @param i span index.
     * @return length of span {@code i}.
     */
    public long length(final int i)
    {
        return lengths[i];
    }

    /**
     * @return the sum of all span lengths.
     */
    public long totalBytes()
    {
        return totalBytes;
    }
}
