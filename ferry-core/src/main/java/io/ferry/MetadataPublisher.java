package io.ferry;

import io.ferry.internal.RegionIndex;
import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import io.ferry.metadata.RegionRecord;
import io.ferry.spi.Backend;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * This agent's metadata as its peers read it: the agent's name, every remote-capable backend's connection info, and
 * each registered region's public data per backend ({@link MetadataCodec} writes the bytes). Stateless beyond what
 * it reads: the backends and the {@link LocalRegistry}.
 */
final class MetadataPublisher
{
    private final String name;
    private final BackendSet backendSet;
    private final Backend[] backends;
    private final LocalRegistry registry;

    MetadataPublisher(final String name, final BackendSet backendSet, final LocalRegistry registry)
    {
        this.name = name;
        this.backendSet = backendSet;
        this.backends = backendSet.backends;
        this.registry = registry;
    }

    /** @return every registered region and the connection info (the agent's {@code localMetadata()}). */
    byte[] full()
    {
        requireRemoteBackend();
        final List<RegionRecord> records = new ArrayList<>();
        for (final Map.Entry<MemoryKind, RegionIndex<LocalRegion>> e : registry.all().entrySet())
        {
            for (final LocalRegion r : e.getValue().entries())
            {
                addRecords(records, r);
            }
        }
        return MetadataCodec.encode(new AgentMetadata(name, connectionInfo(), records));
    }

    /** @return the named regions, with connection info when asked or when there are none (the agent's {@code partialMetadata}). */
    byte[] partial(final DescList regions, final boolean includeConnectionInfo)
    {
        requireRemoteBackend();
        Objects.requireNonNull(regions, "regions");
        final List<RegionRecord> records = new ArrayList<>();
        final RegionIndex<LocalRegion> index = registry.index(regions.kind());
        for (int i = 0; i < regions.size(); i++)
        {
            final LocalRegion r = index.findExact(regions.address(i), regions.length(i), regions.deviceId(i));
            if (null == r)
            {
                throw new FerryException(ErrorCode.NOT_FOUND, "descriptor " + i + " " + regions.get(i) +
                    " is not a registered " + regions.kind() + " region of agent '" + name + "'");
            }
            addRecords(records, r);
        }
        final Map<String, byte[]> conns = regions.isEmpty() || includeConnectionInfo ? connectionInfo() : Map.of();
        return MetadataCodec.encode(new AgentMetadata(name, conns, records));
    }

    private void addRecords(final List<RegionRecord> records, final LocalRegion r)
    {
        for (int slot = 0; slot < backends.length; slot++)
        {
            // a backend that returned no public data keeps the region to itself (e.g. host memory pinned for
            // device copies, which it cannot serve to other processes)
            if (null != r.handles[slot] && 0 != (backendSet.remoteMask & (1L << slot)) && null != r.publicData[slot])
            {
                records.add(new RegionRecord(backends[slot].name(), r.kind, r.address, r.length, r.deviceId,
                    r.accessKey, r.metaInfo, r.publicData[slot]));
            }
        }
    }

    private Map<String, byte[]> connectionInfo()
    {
        final Map<String, byte[]> conns = new LinkedHashMap<>();
        for (int slot = 0; slot < backends.length; slot++)
        {
            if (null != backendSet.connectionInfo[slot])
            {
                conns.put(backends[slot].name(), backendSet.connectionInfo[slot]);
            }
        }
        return conns;
    }

    private void requireRemoteBackend()
    {
        if (0 == backendSet.remoteMask)
        {
            throw FerryException.invalid("agent '" + name + "' has no backend that serves remote peers (backends: " +
                backendSet.describe() + ")");
        }
    }
}
