package io.ferry;

import io.ferry.internal.RegionIndex;
import io.ferry.spi.Backend;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.RegionSpec;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An agent's own registered memory: registration with every capable backend (all or nothing per backend, a random
 * access key per region), exact-span deregistration, and the region index per memory kind that metadata and
 * transfers read. Readers take the current index without a lock (it is replaced, never changed, under the lock);
 * the epoch counts removals, so that a prepared transfer notices that memory it touches went away.
 */
final class LocalRegistry
{
    private final String name;
    private final BackendSet backendSet;
    private final Backend[] backends;
    private final SecureRandom random = new SecureRandom();
    private final Object lock = new Object();
    private volatile Map<MemoryKind, RegionIndex<LocalRegion>> regionsByKind = new EnumMap<>(MemoryKind.class);
    private volatile long epoch;
    /** Set by {@link #close()} under the lock: registrations that finish after it are undone. */
    private boolean closed;

    LocalRegistry(final String name, final BackendSet backendSet, final Backend[] backends)
    {
        this.name = name;
        this.backendSet = backendSet;
        this.backends = backends;
    }

    /** @return the regions of a kind (an immutable snapshot). */
    RegionIndex<LocalRegion> index(final MemoryKind kind)
    {
        final RegionIndex<LocalRegion> index = regionsByKind.get(kind);
        return null == index ? RegionIndex.empty() : index;
    }

    /** @return every kind's regions (an immutable snapshot). */
    Map<MemoryKind, RegionIndex<LocalRegion>> all()
    {
        return regionsByKind;
    }

    /** @return the count of removals so far. */
    long epoch()
    {
        return epoch;
    }

    /** Marks every region dead and forgets them (the backends release their handles as they close). */
    void close()
    {
        synchronized (lock)
        {
            closed = true;
            for (final RegionIndex<LocalRegion> index : regionsByKind.values())
            {
                for (final LocalRegion r : index.entries())
                {
                    r.live = false;
                }
            }
            regionsByKind = new EnumMap<>(MemoryKind.class);
            epoch++;
        }
    }

    /** Above this no user-space address exists on any 64-bit host ferry runs on (57-bit, 5-level paging). */
    static final long MAX_USER_ADDRESS = 1L << 57;

    /**
     * Refuses at registration a memory span that cannot be real: address 0, a span whose end overflows, host
     * memory past the highest user-space address. Memory the caller frees later is the caller's promise; what can
     * be known now is checked now, so that no transfer ever touches it.
     */
    static void checkAddressable(final MemoryKind kind, final int index, final MemoryDesc d)
    {
        if (MemoryKind.DRAM != kind && MemoryKind.VRAM != kind)
        {
            return; // offsets into a file, block device or object: 0 is a fine start
        }
        if (0 == d.address())
        {
            throw FerryException.invalid("region " + index + " " + d + " starts at address 0 (a null pointer)");
        }
        if (d.address() + d.length() < 0)
        {
            throw FerryException.invalid("region " + index + " " + d + " ends past the 64-bit address range");
        }
        if (MemoryKind.DRAM == kind && d.address() + d.length() > MAX_USER_ADDRESS)
        {
            throw FerryException.invalid("region " + index + " " + d + " ends past the highest user-space address " +
                "0x" + Long.toHexString(MAX_USER_ADDRESS));
        }
    }

    /**
     * Registers regions with every backend of this agent that supports their kind (all-or-nothing per backend;
     * succeeds if at least one backend took them all).
     *
     * @param kind        the memory kind of every region.
     * @param regions     the regions.
     * @param backendOnly limit registration to these backends (none given: every capable backend).
     * @return the registration; close it to deregister.
     * @throws FerryException INVALID_PARAM for an empty list or region; NOT_FOUND when no backend supports the kind;
     *                        BACKEND when every candidate backend failed.
     */
    List<LocalRegion> register(final MemoryKind kind, final List<Region> regions, final String... backendOnly)
    {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(regions, "regions");
        if (regions.isEmpty())
        {
            throw FerryException.invalid("no regions to register");
        }
        long candidates = 0;
        for (int slot = 0; slot < backends.length; slot++)
        {
            if (backends[slot].memoryKinds().contains(kind))
            {
                candidates |= 1L << slot;
            }
        }
        if (backendOnly.length > 0)
        {
            long only = 0;
            for (final String b : backendOnly)
            {
                final int slot = backendSet.slotOf(b);
                if (slot < 0)
                {
                    throw new FerryException(ErrorCode.NOT_FOUND, "agent '" + name + "' has no backend '" + b + "'");
                }
                only |= 1L << slot;
            }
            candidates &= only;
        }
        if (0 == candidates)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "no backend of agent '" + name + "' supports " + kind +
                " memory (backends: " + backendSet.describe() + ")");
        }

        final int n = regions.size();
        final MemoryDesc[] descs = new MemoryDesc[n];
        final long[] keys = new long[n];
        for (int i = 0; i < n; i++)
        {
            final Region r = Objects.requireNonNull(regions.get(i), "region " + i);
            descs[i] = r.normalizedDesc(kind);
            if (0 == descs[i].length())
            {
                throw FerryException.invalid("region " + i + " " + descs[i] + " is empty");
            }
            if (null != r.segment() && !r.segment().scope().isAlive())
            {
                throw FerryException.invalid("region " + i + " " + descs[i] + " belongs to a closed arena");
            }
            checkAddressable(kind, i, descs[i]);
            keys[i] = random.nextLong();
        }

        final MemoryHandle[][] handles = new MemoryHandle[n][backends.length];
        long registered = 0;
        FerryException lastError = null;
        for (int slot = 0; slot < backends.length; slot++)
        {
            if (0 == (candidates & (1L << slot)))
            {
                continue;
            }
            int done = 0;
            try
            {
                for (int i = 0; i < n; i++)
                {
                    final Region r = regions.get(i);
                    handles[i][slot] = backends[slot].register(new RegionSpec(kind, descs[i].address(),
                        descs[i].length(), descs[i].deviceId(), r.metaInfoUnsafe(), r.segment(), keys[i]));
                    done++;
                }
                registered |= 1L << slot;
            }
            catch (final RuntimeException ex)
            {
                for (int i = 0; i < done; i++)
                {
                    BackendSet.deregisterQuietly(backends[slot], handles[i][slot]);
                    handles[i][slot] = null;
                }
                lastError = ex instanceof FerryException fe ? fe : new FerryException(ErrorCode.BACKEND,
                    "backend " + backends[slot].name() + " failed to register region " + done + ": " + ex, ex);
                Agent.LOG.log(System.Logger.Level.DEBUG, "registration on " + backends[slot].name() + " failed", ex);
            }
        }
        if (0 == registered)
        {
            throw new FerryException(null == lastError ? ErrorCode.BACKEND : lastError.code(),
                "no backend of agent '" + name + "' could register the " + kind + " regions: " +
                (null == lastError ? "" : lastError.getMessage()), lastError);
        }

        final List<LocalRegion> made = new ArrayList<>(n);
        for (int i = 0; i < n; i++)
        {
            final byte[][] pub = new byte[backends.length][];
            final MemoryHandle[] loop = new MemoryHandle[backends.length];
            for (int slot = 0; slot < backends.length; slot++)
            {
                if (0 != (registered & (1L << slot)))
                {
                    pub[slot] = backends[slot].supportsRemote() ? backends[slot].publicData(handles[i][slot]) : null;
                    loop[slot] = backends[slot].supportsLocal() ?
                        backends[slot].loadLocalRegion(handles[i][slot]) : null;
                }
            }
            made.add(new LocalRegion(kind, descs[i], regions.get(i).metaInfoUnsafe(), regions.get(i).segment(),
                keys[i], handles[i], loop, pub, registered));
        }
        synchronized (lock)
        {
            if (closed)
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, "agent '" + name + "' is closed");
            }
            final Map<MemoryKind, RegionIndex<LocalRegion>> next = new EnumMap<>(regionsByKind);
            next.put(kind, index(kind).with(made));
            regionsByKind = next;
        }
        return List.copyOf(made);
    }

    /**
     * Deregisters regions given by their exact spans (NIXL's {@code deregisterMem}): every descriptor must equal a
     * registered region, or nothing is deregistered.
     *
     * @param kind  the memory kind.
     * @param descs the exact spans that were registered.
     * @throws FerryException NOT_FOUND naming the first descriptor that matches no registered region exactly.
     */
    void deregister(final MemoryKind kind, final DescList descs)
    {
        Objects.requireNonNull(descs, "descs");
        final List<LocalRegion> chosen = new ArrayList<>(descs.size());
        synchronized (lock)
        {
            final RegionIndex<LocalRegion> index = index(kind);
            final Set<LocalRegion> taken = Collections.newSetFromMap(new IdentityHashMap<>());
            for (int i = 0; i < descs.size(); i++)
            {
                LocalRegion r = index.findExact(descs.address(i), descs.length(i), descs.deviceId(i));
                if (null != r && taken.contains(r))
                {
                    r = null;
                    for (final LocalRegion other : index.entries())
                    {
                        if (!taken.contains(other) && other.address == descs.address(i) &&
                            other.length == descs.length(i) && other.deviceId == descs.deviceId(i))
                        {
                            r = other;
                            break;
                        }
                    }
                }
                if (null == r)
                {
                    throw new FerryException(ErrorCode.NOT_FOUND, "descriptor " + i + " " + descs.get(i) +
                        " is not exactly a registered " + kind + " region of agent '" + name +
                        "' (deregistration needs the exact span); nothing was deregistered");
                }
                taken.add(r);
                chosen.add(r);
            }
            removeLocked(kind, chosen);
        }
        releaseHandles(chosen);
    }

    void deregister(final MemoryKind kind, final List<LocalRegion> regions)
    {
        final List<LocalRegion> chosen = new ArrayList<>();
        synchronized (lock)
        {
            for (final LocalRegion r : regions)
            {
                if (r.live)
                {
                    chosen.add(r);
                }
            }
            if (chosen.isEmpty())
            {
                return;
            }
            removeLocked(kind, chosen);
        }
        releaseHandles(chosen);
    }

    private void removeLocked(final MemoryKind kind, final List<LocalRegion> removed)
    {
        for (final LocalRegion r : removed)
        {
            r.live = false;
        }
        final Map<MemoryKind, RegionIndex<LocalRegion>> next = new EnumMap<>(regionsByKind);
        next.put(kind, index(kind).without(removed));
        regionsByKind = next;
        epoch++;
    }

    private void releaseHandles(final List<LocalRegion> removed)
    {
        for (final LocalRegion r : removed)
        {
            for (int slot = 0; slot < backends.length; slot++)
            {
                if (null != r.handles[slot])
                {
                    BackendSet.deregisterQuietly(backends[slot], r.handles[slot]);
                }
            }
        }
    }

    /**
     * @param kind a memory kind.
     * @return how many regions of that kind are registered.
     */
    int count(final MemoryKind kind)
    {
        return index(kind).size();
    }
}
