package io.ferry;

import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;
import io.ferry.spi.MemoryHandle;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An agent's backends: their creation from the configuration (parameters checked against each provider's, the
 * agent's shared secret filled in), what each serves (remote, local, notifications, as bit masks by slot), the
 * parameters {@link Agent#backendParams} shows (a secret masked), and the one place that chooses the backend for a
 * transfer: the caller's hint when it names a backend that holds every descriptor on both sides, else the first such
 * backend in the configuration's order of preference.
 */
final class BackendSet
{
    private static final System.Logger LOG = System.getLogger(BackendSet.class.getName());
    private static final int MAX_BACKENDS = 64;
    /** The parameter through which a backend takes the agent's shared secret, when it has one. */
    static final String AUTH_SECRET_PARAM = "auth_secret";

    final Backend[] backends;
    /** Each backend's effective parameters, as shown (a secret masked). */
    final List<Map<String, String>> params;
    /** Each remote backend's connection info (null for local-only backends). */
    final byte[][] connectionInfo;
    final long remoteMask;
    final long localMask;
    final long notificationMask;

    private BackendSet(final Backend[] backends, final List<Map<String, String>> params)
    {
        this.backends = backends;
        this.params = params;
        this.connectionInfo = new byte[backends.length][];
        long remote = 0;
        long local = 0;
        long notif = 0;
        for (int slot = 0; slot < backends.length; slot++)
        {
            final Backend b = backends[slot];
            if (b.supportsRemote())
            {
                remote |= 1L << slot;
                connectionInfo[slot] = b.connectionInfo();
            }
            if (b.supportsLocal())
            {
                local |= 1L << slot;
            }
            if (b.supportsNotifications())
            {
                notif |= 1L << slot;
            }
        }
        remoteMask = remote;
        localMask = local;
        notificationMask = notif;
    }

    /**
     * Creates the backends the configuration names (or every available one), all or none: a backend that fails to
     * start closes those made before it.
     *
     * @throws FerryException as {@link Agent#create}.
     */
    static BackendSet create(final AgentConfig config, final BackendContext context)
    {
        final Map<String, Map<String, String>> wanted = null != config.backends() ? config.backends() :
            defaultBackends();
        if (wanted.size() > MAX_BACKENDS)
        {
            throw FerryException.invalid("at most " + MAX_BACKENDS + " backends per agent, got " + wanted.size());
        }
        final List<Backend> created = new ArrayList<>();
        final List<Map<String, String>> createdParams = new ArrayList<>();
        try
        {
            for (final Map.Entry<String, Map<String, String>> e : wanted.entrySet())
            {
                final BackendProvider provider = provider(e.getKey());
                final String reason = provider.unavailableReason();
                if (null != reason)
                {
                    throw new FerryException(ErrorCode.NOT_SUPPORTED, "backend " + provider.name() +
                        " is not available on this host: " + reason);
                }
                final Map<String, String> p = effectiveParams(provider, e.getValue(), config.authSecretBytes());
                final Backend backend = provider.create(context, p);
                created.add(backend);
                createdParams.add(Collections.unmodifiableMap(masked(p)));
                if (backend.supportsRemote() && !backend.supportsNotifications())
                {
                    throw new FerryException(ErrorCode.BACKEND, "backend " + backend.name() +
                        " serves remote peers but cannot deliver notifications");
                }
            }
        }
        catch (final RuntimeException ex)
        {
            created.forEach(BackendSet::closeQuietly);
            throw ex;
        }
        return new BackendSet(created.toArray(new Backend[0]), List.copyOf(createdParams));
    }

    /** @return the backends on the class path that can run here, in default order of preference. */
    static List<String> available()
    {
        final List<String> names = new ArrayList<>();
        for (final BackendProvider p : Providers.ALL)
        {
            if (null == p.unavailableReason())
            {
                names.add(p.name());
            }
        }
        return names;
    }

    /** @return what a provider on the class path offers (see {@link Agent#backendInfo}). */
    static BackendInfo providerInfo(final String backendName)
    {
        final BackendProvider p = provider(backendName);
        return new BackendInfo(p.name(), p.memoryKinds(), p.defaultParams(), p.unavailableReason(), p.limitations());
    }

    /**
     * Chooses the backend of a transfer.
     *
     * @param mask      the backends that hold every descriptor on both sides, by slot.
     * @param hint      a backend the caller asked for, or null.
     * @param peer      the peer, for errors.
     * @param agentName the agent, for errors.
     * @return the slot.
     * @throws FerryException NOT_FOUND for a hint that names no backend of the agent; INVALID_PARAM when the hinted
     *                        backend, or every backend, cannot serve it.
     */
    int choose(final long mask, final String hint, final String peer, final String agentName)
    {
        if (null != hint)
        {
            final int slot = slotOf(hint);
            if (slot < 0)
            {
                throw new FerryException(ErrorCode.NOT_FOUND, "agent '" + agentName + "' has no backend '" + hint +
                    "'");
            }
            if (0 == (mask & (1L << slot)))
            {
                throw FerryException.invalid("backend " + hint + " cannot serve this transfer to '" + peer +
                    "': it does not hold every descriptor on both sides (candidates: " + names(mask) + ")");
            }
            return slot;
        }
        if (0 == mask)
        {
            throw FerryException.invalid("no backend holds every descriptor on both sides of the transfer to '" +
                peer + "'");
        }
        return Long.numberOfTrailingZeros(mask);
    }

    /** @return the names of the backends in {@code mask}, by slot. */
    List<String> names(final long mask)
    {
        final List<String> names = new ArrayList<>();
        for (int slot = 0; slot < backends.length; slot++)
        {
            if (0 != (mask & (1L << slot)))
            {
                names.add(backends[slot].name());
            }
        }
        return names;
    }

    /** @return every backend with its memory kinds, for messages. */
    String describe()
    {
        final StringBuilder sb = new StringBuilder();
        for (final Backend b : backends)
        {
            sb.append(sb.isEmpty() ? "" : ", ").append(b.name()).append(' ').append(b.memoryKinds());
        }
        return sb.isEmpty() ? "none" : sb.toString();
    }

    /** @return the slot of the named backend, or -1. */
    int slotOf(final String backendName)
    {
        for (int slot = 0; slot < backends.length; slot++)
        {
            if (backends[slot].name().equals(backendName))
            {
                return slot;
            }
        }
        return -1;
    }

    private static Map<String, Map<String, String>> defaultBackends()
    {
        final Map<String, Map<String, String>> all = new LinkedHashMap<>();
        for (final String n : available())
        {
            all.put(n, Map.of());
        }
        return all;
    }

    private static BackendProvider provider(final String backendName)
    {
        for (final BackendProvider p : Providers.ALL)
        {
            if (p.name().equals(backendName))
            {
                return p;
            }
        }
        final List<String> known = new ArrayList<>();
        Providers.ALL.forEach(p -> known.add(p.name()));
        throw new FerryException(ErrorCode.NOT_FOUND, "backend '" + backendName + "' is not on the class path " +
            "(found: " + known + ")");
    }

    /** @return the parameters as {@link Agent#backendParams} shows them: a secret reads "(set)", never its value. */
    private static Map<String, String> masked(final Map<String, String> p)
    {
        final Map<String, String> out = new LinkedHashMap<>(p);
        out.computeIfPresent(AUTH_SECRET_PARAM, (k, v) -> v.isEmpty() ? v : "(set)");
        return out;
    }

    private static Map<String, String> effectiveParams(
        final BackendProvider provider, final Map<String, String> overrides, final byte[] secret)
    {
        final Map<String, String> p = new LinkedHashMap<>(provider.defaultParams());
        for (final Map.Entry<String, String> e : overrides.entrySet())
        {
            if (!p.containsKey(e.getKey()))
            {
                throw FerryException.invalid("backend " + provider.name() + " has no parameter '" + e.getKey() +
                    "' (known: " + p.keySet() + ")");
            }
            p.put(e.getKey(), e.getValue());
        }
        if (null != secret && p.containsKey(AUTH_SECRET_PARAM))
        {
            final String agentSecret = new String(secret, java.nio.charset.StandardCharsets.UTF_8);
            final String own = p.get(AUTH_SECRET_PARAM);
            if (null != own && !own.isEmpty() && !own.equals(agentSecret))
            {
                throw FerryException.invalid("backend " + provider.name() + "'s auth_secret differs from the " +
                    "agent's authSecret: set the secret in one place");
            }
            p.put(AUTH_SECRET_PARAM, agentSecret);
        }
        return p;
    }

    static void closeQuietly(final Backend b)
    {
        try
        {
            b.close();
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "closing backend " + b.name() + " failed", ex);
        }
    }

    static void deregisterQuietly(final Backend b, final MemoryHandle h)
    {
        try
        {
            b.deregister(h);
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "deregistration on backend " + b.name() + " failed", ex);
        }
    }

    static void disconnectQuietly(final Backend b, final String peer)
    {
        try
        {
            b.disconnect(peer);
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "disconnecting " + b.name() + " from " + peer + " failed", ex);
        }
    }

    /** Backend providers found on the class path, once, in default preference order. */
    private static final class Providers
    {
        static final List<BackendProvider> ALL = load();

        private static List<BackendProvider> load()
        {
            final List<BackendProvider> found = new ArrayList<>();
            for (final BackendProvider p : java.util.ServiceLoader.load(BackendProvider.class, BackendSet.class
                .getClassLoader()))
            {
                found.add(p);
            }
            found.sort(java.util.Comparator.comparingInt(BackendProvider::preference)
                .thenComparing(BackendProvider::name));
            return List.copyOf(found);
        }
    }
}
