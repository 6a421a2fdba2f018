package io.ferry;

import io.ferry.internal.RegionIndex;
import io.ferry.internal.Span;
import io.ferry.spi.Backend;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.ResolvedDescs;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Objects;
import java.util.Set;

/**
 * Turns descriptors into requests, the agent's hot path: resolves a descriptor list once against the regions of
 * one side ({@link PreparedList}, NIXL's {@code prepXferDlist}); builds a transfer from two prepared lists and index
 * arrays (NIXL's {@code makeXferReq}) — checks every index and pair, merges pairs contiguous on both sides, chooses
 * the backend ({@link BackendSet#choose}) and has it prepare the request. No allocation per descriptor beyond the
 * resolved arrays; no lock.
 */
final class RequestBuilder
{
    private final Agent agent;
    private final String name;
    private final BackendSet backendSet;
    private final LocalRegistry registry;
    private final TransferOwner owner;

    RequestBuilder(final Agent agent, final BackendSet backendSet, final LocalRegistry registry,
        final TransferOwner owner)
    {
        this.agent = agent;
        this.name = agent.name();
        this.backendSet = backendSet;
        this.registry = registry;
        this.owner = owner;
    }

    PreparedList resolve(
        final PreparedList.Side side,
        final String peer,
        final long generation,
        final RegionIndex<? extends Span> index,
        final DescList descs,
        final long reachMask,
        final String where)
    {
        final int n = descs.size();
        final Span[] regions = new Span[n];
        final long[] addresses = descs.addressesUnsafe();
        final long[] lengths = descs.lengthsUnsafe();
        long mask = reachMask;
        Span prev = null;
        for (int i = 0; i < n; i++)
        {
            final long a = addresses[i];
            final long l = lengths[i];
            final long d = descs.deviceId(i);
            Span r = prev;
            if (null == r || !MemoryDesc.covers(r.address(), r.length(), r.deviceId(), a, l, d))
            {
                r = index.find(a, l, d);
                if (null == r)
                {
                    throw new FerryException(ErrorCode.NOT_FOUND, "descriptor " + i + " " + descs.get(i) +
                        " is not inside any " + descs.kind() + " region " + where);
                }
                mask &= r instanceof LocalRegion lr ? lr.backendMask : ((PeerRegion)r).backendMask;
                prev = r;
            }
            regions[i] = r;
        }
        if (0 == mask)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "no single backend of agent '" + name + "' holds every " +
                "descriptor of " + descs + (null == peer ? "" : " for peer '" + peer + "'"));
        }
        return new PreparedList(agent, side, peer, generation, descs.kind(), regions, descs, mask);
    }

    /**
     * Builds a transfer (see {@link Agent#transfer}).
     */
    Transfer build(
        final TransferOp op,
        final PreparedList local,
        final int[] localIndices,
        final PreparedList remote,
        final int[] remoteIndices,
        final TransferOptions options)
    {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(localIndices, "localIndices");
        Objects.requireNonNull(remoteIndices, "remoteIndices");
        final TransferOptions opts = null == options ? TransferOptions.NONE : options;
        if (local.agent != agent || remote.agent != agent)
        {
            throw FerryException.invalid("a prepared list belongs to agent '" +
                (local.agent != agent ? local.agent.name() : remote.agent.name()) + "', not '" + name + "'");
        }
        if (!local.isLocal())
        {
            throw FerryException.invalid("the local list was prepared for peer '" + local.peer +
                "'; prepare the initiator's memory with prepare(descs)");
        }
        if (remote.isLocal())
        {
            throw FerryException.invalid("the remote list was prepared as a local list; prepare the target's " +
                "memory with prepare(peer, descs)");
        }
        final int n = localIndices.length;
        if (0 == n || n != remoteIndices.length)
        {
            throw FerryException.invalid("index arrays must be non-empty and of equal length, got " + n + " local and " +
                remoteIndices.length + " remote");
        }
        final int slot = backendSet.choose(local.backendMask & remote.backendMask, opts.backend(), remote.peer, name);
        final Backend backend = backendSet.backends[slot];
        final byte[] notification = opts.notificationUnsafe();
        if (null != notification && !backend.supportsNotifications())
        {
            throw new FerryException(ErrorCode.BACKEND, "backend " + backend.name() + " cannot deliver notifications");
        }

        final ResolvedDescs lres = new ResolvedDescs(n);
        final ResolvedDescs rres = new ResolvedDescs(n);
        final boolean loopback = PreparedList.Side.LOOPBACK == remote.side;
        final Set<LocalRegion> touched = Collections.newSetFromMap(new IdentityHashMap<>());
        final long[] lAddr = local.addresses;
        final long[] rAddr = remote.addresses;
        final long[] lLen = local.lengths;
        final long[] rLen = remote.lengths;
        final Span[] lRegions = local.regions;
        final Span[] rRegions = remote.regions;
        Span prevL = null;
        Span prevR = null;
        MemoryHandle lHandle = null;
        MemoryHandle rHandle = null;
        long lBase = 0;
        long rBase = 0;
        long prevLEnd = -1;
        long prevREnd = -1;
        final int localCount = lRegions.length;
        final int remoteCount = rRegions.length;
        for (int k = 0; k < n; k++)
        {
            final int li = localIndices[k];
            final int ri = remoteIndices[k];
            if (li < 0 || li >= localCount)
            {
                throw FerryException.invalid("local index " + li + " at position " + k + " is out of range [0, " +
                    localCount + ")");
            }
            if (ri < 0 || ri >= remoteCount)
            {
                throw FerryException.invalid("remote index " + ri + " at position " + k + " is out of range [0, " +
                    remoteCount + ")");
            }
            final long len = lLen[li];
            if (len != rLen[ri])
            {
                throw FerryException.invalid("pair " + k + ": local descriptor " + li + " is " + len +
                    " B but remote descriptor " + ri + " is " + rLen[ri] + " B");
            }
            final Span lr = lRegions[li];
            final Span rr = rRegions[ri];
            if (lr != prevL)
            {
                lHandle = local.handle(li, slot);
                lBase = lr.address();
                touched.add((LocalRegion)lr);
            }
            if (rr != prevR)
            {
                rHandle = remote.handle(ri, slot);
                rBase = rr.address();
                if (loopback)
                {
                    touched.add((LocalRegion)rr);
                }
            }
            final long lo = lAddr[li] - lBase;
            final long ro = rAddr[ri] - rBase;
            if (lr == prevL && rr == prevR && lo == prevLEnd && ro == prevREnd)
            {
                lres.extendLast(len);
                rres.extendLast(len);
            }
            else
            {
                lres.add(lHandle, lo, len);
                rres.add(rHandle, ro, len);
            }
            prevL = lr;
            prevR = rr;
            prevLEnd = lo + len;
            prevREnd = ro + len;
        }
        final Transfer t = new Transfer(owner, op, backend, remote, touched.toArray(new LocalRegion[0]), registry.epoch(),
            lres.totalBytes(), lres.count(), notification);
        t.request(backend.prepare(op, lres, rres, remote.peer, t.sink()));
        return t;
    }
}
