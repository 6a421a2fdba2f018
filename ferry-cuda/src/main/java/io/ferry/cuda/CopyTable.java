package io.ferry.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The host side of a copy kernel's table (byte diagram in {@code copy_batch.ptx}): one 24-byte item (source,
 * destination, length) per span, spans longer than {@link #ITEM_BYTES} cut into items of at most that length, so
 * that a large span is shared by many thread blocks. A cut keeps source and destination at the same offset, so
 * their agreement modulo 16 (what decides the kernel's vector path) is kept. Deterministic, no driver.
 */
final class CopyTable
{
    /** Bytes of one item. */
    static final int ITEM = 24;
    /** The longest item: 64 KiB, four passes of a 256-thread block's unrolled 16-byte loop. */
    static final long ITEM_BYTES = 64 << 10;

    /** The device whose kernel runs the table. */
    final int device;
    /** The items, in native memory that lives as long as this table. */
    final MemorySegment host;
    /** How many items. */
    final int items;
    /** The spans' total bytes. */
    final long bytes;

    private CopyTable(final int device, final MemorySegment host, final int items, final long bytes)
    {
        this.device = device;
        this.host = host;
        this.items = items;
        this.bytes = bytes;
    }

    /**
     * @param device the device.
     * @param src    sources of all of a request's spans.
     * @param dst    destinations.
     * @param len    lengths.
     * @param select which spans go in (the others belong to another device or path).
     * @return the table.
     * @throws IllegalArgumentException when the spans need more items than a table holds (2^31 - 1).
     */
    static CopyTable of(final int device, final long[] src, final long[] dst, final long[] len, final boolean[] select)
    {
        long items = 0;
        long bytes = 0;
        for (int i = 0; i < len.length; i++)
        {
            if (select[i])
            {
                items += itemsOf(len[i]);
                bytes += len[i];
            }
        }
        if (items > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException(items + " kernel items in one request");
        }
        final MemorySegment host = Arena.ofAuto().allocate(Math.max(1, items) * ITEM, 8);
        int k = 0;
        for (int i = 0; i < len.length; i++)
        {
            if (!select[i])
            {
                continue;
            }
            for (long off = 0; off < len[i]; off += ITEM_BYTES)
            {
                put(host, k++, src[i] + off, dst[i] + off, Math.min(ITEM_BYTES, len[i] - off));
            }
        }
        return new CopyTable(device, host, (int)items, bytes);
    }

    /**
     * Writes item {@code k} of a table in the kernel's layout.
     *
     * @param items  the table's host memory.
     * @param k      the item.
     * @param src    source address.
     * @param dst    destination address.
     * @param length bytes.
     */
    static void put(final MemorySegment items, final int k, final long src, final long dst, final long length)
    {
        final long at = (long)k * ITEM;
        items.set(ValueLayout.JAVA_LONG, at, src);
        items.set(ValueLayout.JAVA_LONG, at + 8, dst);
        items.set(ValueLayout.JAVA_LONG, at + 16, length);
    }

    /** Items a span of {@code length} bytes takes (none for an empty one). */
    static long itemsOf(final long length)
    {
        return (length + ITEM_BYTES - 1) / ITEM_BYTES;
    }

    /** @return item {@code k}'s source. */
    long src(final int k)
    {
        return host.get(ValueLayout.JAVA_LONG, (long)k * ITEM);
    }

    /** @return item {@code k}'s destination. */
    long dst(final int k)
    {
        return host.get(ValueLayout.JAVA_LONG, (long)k * ITEM + 8);
    }

    /** @return item {@code k}'s length. */
    long length(final int k)
    {
        return host.get(ValueLayout.JAVA_LONG, (long)k * ITEM + 16);
    }
}
