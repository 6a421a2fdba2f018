package io.ferry.internal;

import io.ferry.MemoryDesc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * An immutable index of regions answering "which region covers this span?" in O(log n) for disjoint regions
 * (overlapping registrations are allowed and still found). Entries are sorted by (device, address); a running
 * maximum of region ends per device lets the backward scan stop as soon as no earlier region can reach the span.
 *
 * @param <E> the region type.
 */
public final class RegionIndex<E extends Span>
{
    private static final RegionIndex<?> EMPTY = new RegionIndex<>(List.of());

    private final Object[] entries;
    private final long[] addresses;
    private final long[] devices;
    private final long[] maxEnds;

    private RegionIndex(final List<E> sorted)
    {
        final int n = sorted.size();
        entries = sorted.toArray();
        addresses = new long[n];
        devices = new long[n];
        maxEnds = new long[n];
        for (int i = 0; i < n; i++)
        {
            final E e = sorted.get(i);
            addresses[i] = e.address();
            devices[i] = e.deviceId();
            final long end = end(e);
            maxEnds[i] = i > 0 && devices[i - 1] == devices[i] ? Math.max(maxEnds[i - 1], end) : end;
        }
    }

    /**
     * @param <E> region type.
     * @return an index with no region.
     */
    @SuppressWarnings("unchecked")
    public static <E extends Span> RegionIndex<E> empty()
    {
        return (RegionIndex<E>)EMPTY;
    }

    /**
     * @param regions regions in any order.
     * @param <E>     region type.
     * @return the index.
     */
    public static <E extends Span> RegionIndex<E> of(final Collection<E> regions)
    {
        final List<E> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.<E>comparingLong(Span::deviceId).thenComparingLong(Span::address)
            .thenComparingLong(Span::length));
        return new RegionIndex<>(sorted);
    }

    /**
     * @param extra regions to add.
     * @return a new index holding this one's regions and {@code extra}.
     */
    public RegionIndex<E> with(final Collection<E> extra)
    {
        final List<E> all = new ArrayList<>(entries());
        all.addAll(extra);
        return of(all);
    }

    /**
     * @param removed regions to drop (by identity).
     * @return a new index without them.
     */
    public RegionIndex<E> without(final Collection<E> removed)
    {
        final Set<E> drop = Collections.newSetFromMap(new IdentityHashMap<>());
        drop.addAll(removed);
        final List<E> kept = new ArrayList<>(entries.length);
        for (final E e : entries())
        {
            if (!drop.contains(e))
            {
                kept.add(e);
            }
        }
        return new RegionIndex<>(kept);
    }

    /**
     * @param address  span start.
     * @param length   span length.
     * @param deviceId span device.
     * @return a region that covers the span, or null when none does.
     */
    @SuppressWarnings("unchecked")
    public E find(final long address, final long length, final long deviceId)
    {
        int i = lastAtOrBefore(deviceId, address);
        final long end = address + length < 0 ? Long.MAX_VALUE : address + length;
        while (i >= 0 && devices[i] == deviceId && maxEnds[i] >= end)
        {
            final E e = (E)entries[i];
            if (MemoryDesc.covers(e.address(), e.length(), e.deviceId(), address, length, deviceId))
            {
                return e;
            }
            i--;
        }
        return null;
    }

    /**
     * @param address  start.
     * @param length   length.
     * @param deviceId device.
     * @return a region with exactly this span, or null.
     */
    @SuppressWarnings("unchecked")
    public E findExact(final long address, final long length, final long deviceId)
    {
        int i = lastAtOrBefore(deviceId, address);
        while (i >= 0 && devices[i] == deviceId && addresses[i] == address)
        {
            final E e = (E)entries[i];
            if (e.length() == length)
            {
                return e;
            }
            i--;
        }
        return null;
    }

    /**
     * @return the number of regions.
     */
    public int size()
    {
        return entries.length;
    }

    /**
     * @return the regions in (device, address) order.
     */
    @SuppressWarnings("unchecked")
    public List<E> entries()
    {
        return (List<E>)(List<?>)Arrays.asList(entries.clone());
    }

    private int lastAtOrBefore(final long device, final long address)
    {
        int lo = 0;
        int hi = entries.length - 1;
        int found = -1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            final int c = devices[mid] != device ? Long.compare(devices[mid], device) :
                Long.compare(addresses[mid], address);
            if (c <= 0)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    private static long end(final Span s)
    {
        final long end = s.address() + s.length();
        return end < 0 ? Long.MAX_VALUE : end;
    }
}
