package io.ferry.tcp;

import io.ferry.MemoryKind;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.Map;
import java.util.Set;

/**
 * Provides the TCP backend; its parameters are listed in {@link TcpConfig}.
 */
public final class TcpBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "TCP";

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
        return 50;
    }

    /**
     * {@inheritDoc}
     */
    public Set<MemoryKind> memoryKinds()
    {
        return null == io.ferry.spi.DeviceMemory.find(MemoryKind.VRAM) ? Set.of(MemoryKind.DRAM) :
            Set.of(MemoryKind.DRAM, MemoryKind.VRAM);
    }

    /**
     * {@inheritDoc}
     */
    public Map<String, String> defaultParams()
    {
        return TcpConfig.defaults();
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        return new TcpBackend(context, TcpConfig.parse(params));
    }
}
