package io.ferry.local;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.Map;
import java.util.Set;

/**
 * Provides the LOCAL backend.
 * <p>
 * Parameters:
 * <ul>
 *     <li>{@value #COPY_THREADS}: 0 (default) copies on the posting thread, so a post returns DONE; N &gt; 0 copies
 *     on N backend threads, so a post returns IN_PROGRESS at once and completes later (for large copies that
 *     should not block the caller).</li>
 * </ul>
 */
public final class LocalBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "LOCAL";
    /** Parameter: number of copy threads, 0 for copies on the posting thread. */
    public static final String COPY_THREADS = "copy_threads";

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
        return 0;
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
        return Map.of(COPY_THREADS, "0");
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        final String value = params.get(COPY_THREADS);
        final int threads;
        try
        {
            threads = Integer.parseInt(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "LOCAL parameter " + COPY_THREADS + " must be an " +
                "integer, got '" + value + "'");
        }
        if (threads < 0 || threads > 256)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "LOCAL parameter " + COPY_THREADS +
                " must be within [0, 256], got " + threads);
        }
        return new LocalBackend(context, threads);
    }
}
