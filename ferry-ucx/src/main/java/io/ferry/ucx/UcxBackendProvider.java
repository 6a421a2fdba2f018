package io.ferry.ucx;

import io.ferry.MemoryKind;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.Map;
import java.util.Set;

/**
 * Creates UCX backends: one-sided transfers over whatever transport UCX finds (InfiniBand, RoCE, shared memory,
 * TCP), through UCX's own library as installed on the host.
 */
public final class UcxBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "UCX";

    /**
     * {@inheritDoc}
     */
    public String name()
    {
        return NAME;
    }

    /**
     * Ranked after SHM and CUDA, before TCP: where both reach a peer, UCX's transports are at least as fast as
     * ferry's TCP.
     */
    public int preference()
    {
        return 40;
    }

    /**
     * {@inheritDoc}
     */
    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.DRAM, MemoryKind.VRAM);
    }

    /**
     * {@inheritDoc}
     */
    public Map<String, String> defaultParams()
    {
        return UcxConfig.defaults();
    }

    /**
     * {@inheritDoc}
     */
    public String unavailableReason()
    {
        return Ucp.unavailableReason();
    }

    /**
     * {@inheritDoc}
     */
    public String limitations()
    {
        return null == Ucp.unavailableReason() ? UcxTransports.summary() : null;
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        return new UcxBackend(context, UcxConfig.parse(params));
    }
}
