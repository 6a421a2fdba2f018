package io.ferry;

import io.ferry.internal.RegionIndex;

import java.util.EnumMap;
import java.util.Map;

/**
 * What this agent knows of one peer: an immutable snapshot, replaced whole when metadata is merged.
 * The generation changes only when the peer is loaded anew after being invalidated.
 */
final class PeerState
{
    final String name;
    final long generation;
    /** Connection info per backend slot, null where the peer published none. */
    final byte[][] connectionInfo;
    /** Bit per backend slot that can reach the peer. */
    final long reachableMask;
    final Map<MemoryKind, RegionIndex<PeerRegion>> regions;

    PeerState(
        final String name,
        final long generation,
        final byte[][] connectionInfo,
        final long reachableMask,
        final Map<MemoryKind, RegionIndex<PeerRegion>> regions)
    {
        this.name = name;
        this.generation = generation;
        this.connectionInfo = connectionInfo;
        this.reachableMask = reachableMask;
        this.regions = regions;
    }

    RegionIndex<PeerRegion> regions(final MemoryKind kind)
    {
        final RegionIndex<PeerRegion> index = regions.get(kind);
        return null == index ? RegionIndex.empty() : index;
    }

    static Map<MemoryKind, RegionIndex<PeerRegion>> noRegions()
    {
        return new EnumMap<>(MemoryKind.class);
    }
}
