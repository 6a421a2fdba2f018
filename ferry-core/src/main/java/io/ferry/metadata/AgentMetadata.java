package io.ferry.metadata;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An agent's metadata, full or partial: its name, connection info per backend (may be absent in partial
 * metadata), and regions' public data (may be absent in connection-only metadata).
 *
 * @param name           the agent's name.
 * @param connectionInfo backend name to connection info, in the agent's order of preference.
 * @param regions        published regions.
 */
public record AgentMetadata(String name, Map<String, byte[]> connectionInfo, List<RegionRecord> regions)
{
    /**
     * Copies the collections.
     */
    public AgentMetadata
    {
        Objects.requireNonNull(name, "name");
        connectionInfo = Collections.unmodifiableMap(new LinkedHashMap<>(connectionInfo));
        regions = List.copyOf(regions);
    }

    /**
     * {@inheritDoc}
     */
    public boolean equals(final Object o)
    {
        if (!(o instanceof AgentMetadata m) || !name.equals(m.name) || !regions.equals(m.regions) ||
            !connectionInfo.keySet().equals(m.connectionInfo.keySet()))
        {
            return false;
        }
        for (final Map.Entry<String, byte[]> e : connectionInfo.entrySet())
        {
            if (!Arrays.equals(e.getValue(), m.connectionInfo.get(e.getKey())))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * {@inheritDoc}
     */
    public int hashCode()
    {
        return name.hashCode() * 31 + regions.hashCode();
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "AgentMetadata{" + name + ", backends=" + connectionInfo.keySet() + ", " + regions.size() +
            " regions}";
    }
}
