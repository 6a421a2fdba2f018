package io.ferry.local;

import io.ferry.MemoryKind;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.Map;
import java.util.Set;

/**
 * Provides the LOCAL backend. It has no parameters.
 */
public final class LocalBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "LOCAL";

    /**
     * {@inheritDoc}
     */
    public String name()
    {
        return NAME;
    }

    /**
     * {@inheritDoc}
     */
    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.DRAM);
    }

    /**
     * {@inheritDoc}
     */
    public Map<String, String> defaultParams()
    {
        return Map.of();
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        return new LocalBackend(context);
    }
}
