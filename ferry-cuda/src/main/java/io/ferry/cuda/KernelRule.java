package io.ferry.cuda;

import io.ferry.FerryException;
import io.ferry.spi.BackendParams;

import java.util.Locale;
import java.util.Map;

/**
 * Decides, per device of a request, whether its spans go by the batched copy kernel ({@link CopyKernel}) or by the
 * driver's copies ({@code cuMemcpyBatchAsync} / {@code cuMemcpyAsync}). Deterministic, no driver: a request's spans
 * on one device go by the kernel when there are at least {@code kernel_min_spans} of them and their mean length is
 * at most {@code kernel_max_mean_bytes}; {@code copy_kernel=always|never} forces either way.
 * <p>
 * Why by count and mean length: a driver copy costs a few microseconds of posting and of copy-engine set-up each,
 * which rules when blocks are small and many; one kernel costs one launch for any number of blocks, but moves a
 * single large span no faster than the driver does. The defaults come from the H200 sweep in {@code docs/gpu.md}:
 * from 4 spans on, the kernel was 1.8–3.6× the driver's copies up to 2 MiB each and 1.07–1.29× at 16 MiB; with 1 or 2
 * spans, or 4 of 64 MiB, the driver's copies were as fast or up to 13% faster.
 *
 * @param mode         AUTO, ALWAYS or NEVER.
 * @param minSpans     the fewest spans on one device for the kernel in AUTO.
 * @param maxMeanBytes the largest mean span length for the kernel in AUTO.
 */
record KernelRule(Mode mode, long minSpans, long maxMeanBytes)
{
    /** How the rule is set. */
    enum Mode
    {
        AUTO, ALWAYS, NEVER
    }

    /** Default {@code kernel_min_spans}. */
    static final long DEFAULT_MIN_SPANS = 4;
    /** Default {@code kernel_max_mean_bytes}. */
    static final long DEFAULT_MAX_MEAN_BYTES = 16L << 20;

    /**
     * @param params the backend's parameters ({@code copy_kernel}, {@code kernel_min_spans},
     *               {@code kernel_max_mean_bytes}; missing ones take their defaults).
     * @return the rule.
     * @throws FerryException INVALID_PARAM naming a bad value.
     */
    static KernelRule of(final Map<String, String> params)
    {
        final String m = params.getOrDefault("copy_kernel", "auto").trim().toUpperCase(Locale.ROOT);
        final Mode mode;
        try
        {
            mode = Mode.valueOf(m);
        }
        catch (final IllegalArgumentException ex)
        {
            throw FerryException.invalid("CUDA parameter copy_kernel=" + params.get("copy_kernel") +
                " is not auto, always or never");
        }
        final Map<String, String> p = new java.util.HashMap<>(params);
        p.putIfAbsent("kernel_min_spans", Long.toString(DEFAULT_MIN_SPANS));
        p.putIfAbsent("kernel_max_mean_bytes", Long.toString(DEFAULT_MAX_MEAN_BYTES));
        return new KernelRule(mode, BackendParams.number(p, "CUDA", "kernel_min_spans", 1, Integer.MAX_VALUE),
            BackendParams.number(p, "CUDA", "kernel_max_mean_bytes", 1, Long.MAX_VALUE));
    }

    /**
     * @param spans the spans of a request on one device that the kernel can reach.
     * @param bytes their total length.
     * @return true when they go by the kernel.
     */
    boolean useKernel(final int spans, final long bytes)
    {
        return switch (mode)
        {
            case ALWAYS -> spans > 0;
            case NEVER -> false;
            case AUTO -> spans >= minSpans && spans > 0 && bytes / spans <= maxMeanBytes;
        };
    }

    public String toString()
    {
        return "copy_kernel=" + mode.name().toLowerCase(Locale.ROOT) + " (kernel_min_spans=" + minSpans +
            ", kernel_max_mean_bytes=" + maxMeanBytes + ")";
    }
}
