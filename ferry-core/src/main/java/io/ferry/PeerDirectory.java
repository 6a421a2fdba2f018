package io.ferry;

import io.ferry.internal.RegionIndex;
import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.RegionRecord;
import io.ferry.spi.Backend;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.RemoteRegionSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What an agent knows of its peers: each peer's connection info per backend, the backends that reach it, its
 * published regions with every backend's handle, and its generation (a number that changes when the peer is
 * dropped and loaded again, so that lists prepared against the old metadata are refused). Loading merges into what
 * is known, under one lock; readers take a peer's immutable state without it.
 */
final class PeerDirectory
{
    private static final AtomicLong GENERATIONS = new AtomicLong();

    private final String name;
    private final BackendSet backendSet;
    private final Backend[] backends;
    private final long remoteMask;
    private final Object lock = new Object();
    private final ConcurrentHashMap<String, PeerState> peers = new ConcurrentHashMap<>();

    PeerDirectory(final String name, final BackendSet backendSet)
    {
        this.name = name;
        this.backendSet = backendSet;
        this.backends = backendSet.backends;
        this.remoteMask = backendSet.remoteMask;
    }

    /** @return the peer's state, or null when its metadata is not loaded. */
    PeerState get(final String peer)
    {
        return peers.get(peer);
    }

    /**
     * @return the peer's state.
     * @throws FerryException NOT_FOUND when its metadata is not loaded.
     */
    PeerState require(final String peer)
    {
        final PeerState ps = peers.get(peer);
        if (null == ps)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "no metadata of peer '" + peer + "' is loaded in agent '" +
                name + "'");
        }
        return ps;
    }

    /** @return the names of the loaded peers, sorted. */
    Set<String> names()
    {
        return Collections.unmodifiableSet(new TreeSet<>(peers.keySet()));
    }

    /** Forgets every peer (the backends disconnect as they close). */
    void clear()
    {
        synchronized (lock)
        {
            peers.clear();
        }
    }

    /**
     * Merges a peer's decoded metadata into what is known (see {@link Agent#loadRemoteMetadata}).
     *
     * @param md the metadata, not this agent's own.
     */
    void load(final AgentMetadata md)
    {
        final String peer = md.name();
        synchronized (lock)
        {
            final PeerState old = peers.get(peer);
            final byte[][] conns = null == old ? new byte[backends.length][] : old.connectionInfo.clone();
            long reachable = null == old ? 0 : old.reachableMask;

            final List<Integer> newConnSlots = new ArrayList<>();
            for (final Map.Entry<String, byte[]> e : md.connectionInfo().entrySet())
            {
                final int slot = backendSet.slotOf(e.getKey());
                if (slot < 0 || 0 == (remoteMask & (1L << slot)))
                {
                    continue;
                }
                if (null != conns[slot])
                {
                    if (!Arrays.equals(conns[slot], e.getValue()))
                    {
                        throw new FerryException(ErrorCode.NOT_ALLOWED, "connection info of peer '" + peer +
                            "' for backend " + e.getKey() + " differs from the loaded one; invalidate the peer " +
                            "before loading its new metadata");
                    }
                }
                else
                {
                    newConnSlots.add(slot);
                }
            }
            if (null == old && newConnSlots.isEmpty())
            {
                if (md.connectionInfo().isEmpty())
                {
                    throw new FerryException(ErrorCode.NOT_FOUND, "metadata of peer '" + peer + "' carries no " +
                        "connection info and none was loaded before; load its connection info first");
                }
                throw new FerryException(ErrorCode.BACKEND, "no common backend with peer '" + peer + "': it offers " +
                    md.connectionInfo().keySet() + ", agent '" + name + "' has " + backendSet.names(-1L));
            }

            final List<Integer> loadedSlots = new ArrayList<>();
            try
            {
                for (final int slot : newConnSlots)
                {
                    final byte[] info = md.connectionInfo().get(backends[slot].name());
                    final boolean reach = backends[slot].loadRemoteConnectionInfo(peer, info);
                    loadedSlots.add(slot);
                    conns[slot] = info;
                    if (reach)
                    {
                        reachable |= 1L << slot;
                    }
                }
                if (0 == reachable)
                {
                    throw new FerryException(ErrorCode.BACKEND, "no backend of agent '" + name + "' can reach peer '" +
                        peer + "' (it offers " + md.connectionInfo().keySet() + ")");
                }
                final Map<MemoryKind, RegionIndex<PeerRegion>> regions = mergeRegions(peer, old, conns, reachable, md);
                final long generation = null == old ? GENERATIONS.incrementAndGet() : old.generation;
                peers.put(peer, new PeerState(peer, generation, conns, reachable, regions));
            }
            catch (final RuntimeException ex)
            {
                if (null == old)
                {
                    for (final int slot : loadedSlots)
                    {
                        BackendSet.disconnectQuietly(backends[slot], peer);
                    }
                }
                throw ex;
            }
        }
    }

    private Map<MemoryKind, RegionIndex<PeerRegion>> mergeRegions(
        final String peer, final PeerState old, final byte[][] conns, final long reachable, final AgentMetadata md)
    {
        final Map<MemoryKind, RegionIndex<PeerRegion>> result = null == old ? PeerState.noRegions() :
            new EnumMap<>(old.regions);
        final Map<MemoryKind, Map<List<Long>, PeerRegion>> changed = new EnumMap<>(MemoryKind.class);
        for (final RegionRecord rec : md.regions())
        {
            final int slot = backendSet.slotOf(rec.backend());
            if (slot < 0 || null == conns[slot] || 0 == (reachable & (1L << slot)))
            {
                continue; // a backend this agent lacks, or one that cannot reach the peer from here
            }
            final List<Long> key = List.of(rec.address(), rec.length(), rec.deviceId());
            final Map<List<Long>, PeerRegion> byKind = changed.computeIfAbsent(rec.kind(), k -> new LinkedHashMap<>());
            PeerRegion base = byKind.get(key);
            if (null == base && null != old)
            {
                base = old.regions(rec.kind()).findExact(rec.address(), rec.length(), rec.deviceId());
                if (null != base && null != base.handles[slot] && (base.accessKey != rec.accessKey() ||
                    !Arrays.equals(base.publicData[slot], rec.publicData()) ||
                    !Arrays.equals(base.metaInfo, rec.metaInfo())))
                {
                    // the peer registered this span again: the new record replaces the old one, and transfers
                    // prepared against the old one are refused by the peer, which no longer knows its key
                    base = null;
                }
            }
            if (null != base && null != base.handles[slot])
            {
                continue;
            }
            final MemoryHandle handle = backends[slot].loadRemoteRegion(new RemoteRegionSpec(peer, rec.kind(),
                rec.address(), rec.length(), rec.deviceId(), rec.metaInfo(), rec.accessKey(), rec.publicData()));
            if (null == handle)
            {
                continue; // this backend cannot reach the region from here: another one carries it
            }
            final MemoryHandle[] handles = null == base ? new MemoryHandle[backends.length] : base.handles.clone();
            final byte[][] pub = null == base ? new byte[backends.length][] : base.publicData.clone();
            handles[slot] = handle;
            pub[slot] = rec.publicData();
            byKind.put(key, new PeerRegion(rec.kind(), rec.address(), rec.length(), rec.deviceId(), rec.metaInfo(),
                rec.accessKey(), handles, pub, (null == base ? 0 : base.backendMask) | (1L << slot)));
        }
        for (final Map.Entry<MemoryKind, Map<List<Long>, PeerRegion>> e : changed.entrySet())
        {
            final RegionIndex<PeerRegion> before = null == old ? RegionIndex.empty() : old.regions(e.getKey());
            final List<PeerRegion> replaced = new ArrayList<>();
            for (final PeerRegion r : e.getValue().values())
            {
                final PeerRegion prev = before.findExact(r.address, r.length, r.deviceId);
                if (null != prev)
                {
                    replaced.add(prev);
                }
            }
            result.put(e.getKey(), before.without(replaced).with(e.getValue().values()));
        }
        return result;
    }

    PeerState drop(final String peer)
    {
        final PeerState removed;
        synchronized (lock)
        {
            removed = peers.remove(peer);
        }
        if (null != removed)
        {
            for (final Backend b : backends)
            {
                BackendSet.disconnectQuietly(b, peer);
            }
        }
        return removed;
    }
}
