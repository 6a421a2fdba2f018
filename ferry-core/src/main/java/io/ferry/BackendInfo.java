package io.ferry;

import java.util.Map;
import java.util.Set;

/**
 * What a backend offers: the memory kinds it moves and its parameters with their values (defaults for an
 * available backend, effective values for one an agent created). NIXL's {@code getPluginParams} /
 * {@code getBackendParams}.
 *
 * @param name              the backend's name, e.g. "LOCAL".
 * @param memoryKinds       the memory kinds it can register and move.
 * @param params            parameter name to value.
 * @param unavailableReason why it cannot be used on this host, or null when it can.
 * @param limitations       what limits it here though it runs (a mechanism the kernel refuses, say), or null.
 */
public record BackendInfo(String name, Set<MemoryKind> memoryKinds, Map<String, String> params,
    String unavailableReason, String limitations)
{
    /**
     * A backend without known limitations.
     *
     * @param name              the backend's name.
     * @param memoryKinds       the memory kinds it can register and move.
     * @param params            parameter name to value.
     * @param unavailableReason why it cannot be used on this host, or null when it can.
     */
    public BackendInfo(final String name, final Set<MemoryKind> memoryKinds, final Map<String, String> params,
        final String unavailableReason)
    {
        this(name, memoryKinds, params, unavailableReason, null);
    }

    /**
     * Copies the collections.
     */
    public BackendInfo
    {
        memoryKinds = Set.copyOf(memoryKinds);
        params = Map.copyOf(params);
    }

    /**
     * @return true when the backend can be created on this host.
     */
    public boolean available()
    {
        return null == unavailableReason;
    }
}
