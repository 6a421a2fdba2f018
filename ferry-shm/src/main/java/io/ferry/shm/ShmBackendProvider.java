package io.ferry.shm;

import io.ferry.MemoryKind;
import io.ferry.internal.Posix;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.Map;
import java.util.Set;

/**
 * Creates SHM backends: transfers between agents on one host, through shared memory files and cross-memory
 * attach.
 */
public final class ShmBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "SHM";

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
    public int preference()
    {
        return 10;
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
        return ShmConfig.defaults();
    }

    /**
     * {@inheritDoc}
     */
    public String unavailableReason()
    {
        return Posix.unavailableReason();
    }

    /**
     * {@inheritDoc}
     */
    public String limitations()
    {
        return CrossMemory.limitation();
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        return new ShmBackend(context, ShmConfig.parse(params));
    }
}
