package io.ferry.spi;

import io.ferry.MemoryKind;

import java.util.Map;
import java.util.Set;

/**
 * Names a backend and creates its instances; found with {@link java.util.ServiceLoader}.
 */
public interface BackendProvider
{
    /**
     * @return the backend's name, upper case, e.g. "LOCAL" or "TCP".
     */
    String name();

    /**
     * @return the memory kinds the backend registers and moves.
     */
    Set<MemoryKind> memoryKinds();

    /**
     * @return every parameter the backend understands, with its default value.
     */
    Map<String, String> defaultParams();

    /**
     * @return why the backend cannot run on this host (no driver, no device), or null when it can.
     */
    default String unavailableReason()
    {
        return null;
    }

    /**
     * @return what limits the backend on this host though it runs (a kernel policy that refuses one of its
     * mechanisms, say), or null when nothing is known to.
     */
    default String limitations()
    {
        return null;
    }

    /**
     * Where the backend stands in an agent's default order of preference, lowest first: among the backends that
     * can serve a transfer, the agent picks the first (an {@link io.ferry.AgentConfig} that lists its backends sets
     * its own order, and a transfer can name one). LOCAL 0 (same process), SHM 10 (same host), CUDA 20, TCP 50;
     * providers that do not say come after, by name.
     *
     * @return the rank.
     */
    default int preference()
    {
        return 100;
    }

    /**
     * @param context what the agent offers its backends.
     * @param params  every parameter, defaults filled in (unknown ones were refused by the agent).
     * @return a running backend.
     * @throws io.ferry.FerryException BACKEND or INVALID_PARAM when it cannot start.
     */
    Backend create(BackendContext context, Map<String, String> params);
}
