package io.ferry.tcp;

import java.util.Arrays;

/**
 * Registered regions by access key: an immutable open-addressing table replaced whole on every change (changes are
 * rare, lookups happen per span), so lookups take no lock and allocate nothing.
 */
final class RegionTable
{
    private static final RegionTable EMPTY = new RegionTable(new long[4], new TcpRegion[4], 0);

    private final long[] keys;
    private final TcpRegion[] values;
    private final int size;

    private RegionTable(final long[] keys, final TcpRegion[] values, final int size)
    {
        this.keys = keys;
        this.values = values;
        this.size = size;
    }

    static RegionTable empty()
    {
        return EMPTY;
    }

    TcpRegion get(final long key)
    {
        final int mask = keys.length - 1;
        int i = mix(key) & mask;
        while (null != values[i])
        {
            if (keys[i] == key)
            {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    RegionTable with(final TcpRegion region)
    {
        final TcpRegion[] all = Arrays.copyOf(entries(), size + 1);
        all[size] = region;
        return of(all);
    }

    RegionTable without(final TcpRegion region)
    {
        final TcpRegion[] kept = Arrays.stream(entries()).filter(r -> r != region).toArray(TcpRegion[]::new);
        return of(kept);
    }

    int size()
    {
        return size;
    }

    TcpRegion[] entries()
    {
        final TcpRegion[] out = new TcpRegion[size];
        int n = 0;
        for (final TcpRegion r : values)
        {
            if (null != r)
            {
                out[n++] = r;
            }
        }
        return out;
    }

    private static RegionTable of(final TcpRegion[] regions)
    {
        int capacity = 4;
        while (capacity < regions.length * 2)
        {
            capacity <<= 1;
        }
        final long[] keys = new long[capacity];
        final TcpRegion[] values = new TcpRegion[capacity];
        final int mask = capacity - 1;
        for (final TcpRegion r : regions)
        {
            int i = mix(r.key) & mask;
            while (null != values[i])
            {
                i = (i + 1) & mask;
            }
            keys[i] = r.key;
            values[i] = r;
        }
        return new RegionTable(keys, values, regions.length);
    }

    private static int mix(final long key)
    {
        final long h = key * 0x9E3779B97F4A7C15L;
        return (int)(h ^ (h >>> 32));
    }
}
