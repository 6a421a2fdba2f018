package io.ferry.cuda;

import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Finds the CUDA backend for {@link java.util.ServiceLoader}.
 * <p>
 * Parameters: {@code pin_host} (default true: host regions registered with CUDA are pinned with
 * {@code cuMemHostRegister}, so copies to and from them run at full speed and asynchronously) and
 * {@code auth_secret} (the secret same-host peers prove on the notification channel; the agent's
 * {@code authSecret} fills it). {@code copy_kernel} ({@code auto}, {@code always}, {@code never}),
 * {@code kernel_min_spans} and {@code kernel_max_mean_bytes} decide when a request's spans on one device are copied
 * by one launch of ferry's batched copy kernel instead of one driver copy each ({@link KernelRule}). Notifications travel over the same-host channel SHM uses
 * ({@link io.ferry.samehost.SameHostChannel}).
 */
public final class CudaBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "CUDA";

    public String name()
    {
        return NAME;
    }

    /**
     * {@inheritDoc}
     */
    public int preference()
    {
        return 20;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.VRAM, MemoryKind.DRAM);
    }

    public Map<String, String> defaultParams()
    {
        final Map<String, String> p = new LinkedHashMap<>();
        p.put("pin_host", "true");
        p.put("auth_secret", "");
        p.put("copy_kernel", "auto");
        p.put("kernel_min_spans", Long.toString(KernelRule.DEFAULT_MIN_SPANS));
        p.put("kernel_max_mean_bytes", Long.toString(KernelRule.DEFAULT_MAX_MEAN_BYTES));
        return p;
    }

    public String unavailableReason()
    {
        try
        {
            final int n = CudaDriver.load().deviceCount();
            return 0 == n ? "the CUDA driver sees no device" : null;
        }
        catch (final FerryException ex)
        {
            return ex.getMessage();
        }
    }

    /**
     * {@inheritDoc}
     */
    public String limitations()
    {
        final String lost = CudaBackend.processLimitations();
        final String kernel = CopyKernel.processLimitations();
        return null == lost ? kernel : null == kernel ? lost : lost + "; " + kernel;
    }

    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        final String secret = params.getOrDefault("auth_secret", "");
        final KernelRule rule = KernelRule.of(params);
        return new CudaBackend(context, CudaDriver.load(), Boolean.parseBoolean(params.get("pin_host")),
            secret.isEmpty() ? null : secret.getBytes(java.nio.charset.StandardCharsets.UTF_8), rule);
    }
}
