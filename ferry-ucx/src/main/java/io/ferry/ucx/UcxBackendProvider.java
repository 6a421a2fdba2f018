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
     * Where the host has RDMA devices ({@code /sys/class/infiniband}), ranked after SHM and CUDA and before TCP, so
     * that a peer both reach gets UCX's RDMA; without them, after TCP: between hosts UCX would move data over TCP,
     * and ferry's own TCP (several paths, host-side congestion control) is the better road there. Naming UCX in an
     * agent's configuration, or in a transfer's backend hint, still picks it anywhere.
     */
    public int preference()
    {
        return RDMA_DEVICES ? 40 : 110;
    }

    private static final boolean RDMA_DEVICES = hasRdmaDevices();

    private static boolean hasRdmaDevices()
    {
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.list(
            java.nio.file.Path.of("/sys/class/infiniband")))
        {
            return s.findAny().isPresent();
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            return false;
        }
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
        return null == Ucp.unavailableReason() ? UcxTransports.warning() : null;
    }

    /**
     * @return what UCX finds on this host: its version and the transports and devices of a default context (for
     * {@code ferry doctor}), or why UCX cannot run here.
     */
    public static String describeHost()
    {
        final String reason = Ucp.unavailableReason();
        return null != reason ? reason : UcxTransports.summary();
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        return new UcxBackend(context, UcxConfig.parse(params));
    }
}
