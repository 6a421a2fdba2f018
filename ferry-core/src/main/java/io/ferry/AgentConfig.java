package io.ferry;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How to build an {@link Agent}: its name, the backends to create (in order of preference) with their parameters,
 * and the default deadline of its waits. Immutable; made with {@link #builder(String)}.
 */
public final class AgentConfig
{
    /** Default deadline for waits that are given none. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private final String name;
    private final Map<String, Map<String, String>> backends;
    private final Duration defaultTimeout;
    private final int listenPort;
    private final String listenAddress;
    private final List<AgentObserver> observers;
    private final byte[] authSecret;
    private final int metadataMaxConnections;
    private final int metadataMaxPeersPerClient;

    private AgentConfig(final Builder b)
    {
        this.authSecret = b.authSecret;
        this.metadataMaxConnections = b.metadataMaxConnections;
        this.metadataMaxPeersPerClient = b.metadataMaxPeersPerClient;
        this.observers = List.copyOf(b.observers);
        this.name = b.name;
        this.backends = null == b.backends ? null : Collections.unmodifiableMap(new LinkedHashMap<>(b.backends));
        this.defaultTimeout = b.defaultTimeout;
        this.listenPort = b.listenPort;
        this.listenAddress = b.listenAddress;
    }

    /**
     * @return whether a shared secret is set for every plane ({@link Builder#authSecret}).
     */
    public boolean hasAuthSecret()
    {
        return null != authSecret;
    }

    /** @return the shared secret's bytes (UTF-8), or null; for the agent and its backends, never logged. */
    byte[] authSecretBytes()
    {
        return null == authSecret ? null : authSecret.clone();
    }

    /**
     * @return most connections the metadata listener serves at once.
     */
    public int metadataMaxConnections()
    {
        return metadataMaxConnections;
    }

    /**
     * @return most distinct agents one client address may load through the metadata listener.
     */
    public int metadataMaxPeersPerClient()
    {
        return metadataMaxPeersPerClient;
    }

    /**
     * @return the observers told of transfers and notifications.
     */
    public List<AgentObserver> observers()
    {
        return observers;
    }

    /**
     * @return the metadata listener's port: 0 for any free port, -1 for no listener.
     */
    public int listenPort()
    {
        return listenPort;
    }

    /**
     * @return the address the metadata listener binds.
     */
    public String listenAddress()
    {
        return listenAddress;
    }

    /**
     * @param name the agent's name: non-empty, unique among the agents that will exchange metadata.
     * @return a builder.
     */
    public static Builder builder(final String name)
    {
        return new Builder(name);
    }

    /**
     * @return the agent's name.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return backend name to parameters, in order of preference; null means every available backend with its
     * default parameters.
     */
    public Map<String, Map<String, String>> backends()
    {
        return backends;
    }

    /**
     * @return the deadline of waits given none.
     */
    public Duration defaultTimeout()
    {
        return defaultTimeout;
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "AgentConfig{name=" + name + ", backends=" + (null == backends ? "all available" : backends.keySet()) +
            ", defaultTimeout=" + defaultTimeout + ", listen=" + (listenPort < 0 ? "off" : listenAddress + ":" +
            listenPort) + ", authSecret=" + (null == authSecret ? "none" : "set") + "}";
    }

    /**
     * Fills in an {@link AgentConfig}; not thread-safe.
     */
    public static final class Builder
    {
        private final String name;
        private LinkedHashMap<String, Map<String, String>> backends;
        private Duration defaultTimeout = DEFAULT_TIMEOUT;
        private int listenPort = 0;
        private String listenAddress = "0.0.0.0";
        private final java.util.ArrayList<AgentObserver> observers = new java.util.ArrayList<>();
        private byte[] authSecret;
        private int metadataMaxConnections = io.ferry.metadata.MetadataListener.DEFAULT_MAX_CONNECTIONS;
        private int metadataMaxPeersPerClient = io.ferry.metadata.MetadataListener.DEFAULT_MAX_PEERS_PER_CLIENT;

        Builder(final String name)
        {
            this.name = name;
        }

        /**
         * Creates exactly these backends, in this order of preference, with default parameters. An empty list
         * makes an agent with no backend (it can still decode metadata).
         *
         * @param names backend names, e.g. "LOCAL".
         * @return this builder.
         */
        public Builder backends(final String... names)
        {
            return backends(List.of(names));
        }

        /**
         * @param names backend names in order of preference.
         * @return this builder.
         * @throws FerryException INVALID_PARAM when a name is repeated.
         */
        public Builder backends(final List<String> names)
        {
            backends = new LinkedHashMap<>();
            for (final String n : names)
            {
                backend(n, Map.of());
            }
            return this;
        }

        /**
         * Adds one backend with parameters (unknown parameters are refused when the agent is created).
         *
         * @param backendName the backend.
         * @param params      parameter overrides.
         * @return this builder.
         * @throws FerryException INVALID_PARAM when the backend was already added.
         */
        public Builder backend(final String backendName, final Map<String, String> params)
        {
            Objects.requireNonNull(backendName, "backendName");
            if (null == backends)
            {
                backends = new LinkedHashMap<>();
            }
            if (backends.containsKey(backendName))
            {
                throw FerryException.invalid("backend " + backendName + " is listed twice for agent '" + name + "'");
            }
            backends.put(backendName, Map.copyOf(params));
            return this;
        }

        /**
         * @param timeout deadline for waits given none; positive.
         * @return this builder.
         */
        public Builder defaultTimeout(final Duration timeout)
        {
            if (null == timeout || timeout.isNegative() || timeout.isZero())
            {
                throw FerryException.invalid("default timeout must be positive, got " + timeout);
            }
            this.defaultTimeout = timeout;
            return this;
        }

        /**
         * The embedded metadata listener (socket exchange): {@code 0} (default) binds any free port, {@code -1}
         * runs none.
         *
         * @param port the port.
         * @return this builder.
         */
        public Builder listenPort(final int port)
        {
            if (port < -1 || port > 65535)
            {
                throw FerryException.invalid("listen port must be -1 (off), 0 (any) or 1-65535, got " + port);
            }
            this.listenPort = port;
            return this;
        }

        /**
         * One shared secret for every plane: the metadata listener and the metadata this agent sends or fetches
         * (mutual challenge-response), records in a metadata service such as etcd (an HMAC over each record), and
         * every backend that authenticates connections (TCP's {@code auth_secret}, unless the backend's parameters
         * set the same value themselves; a different value there is INVALID_PARAM). Null or empty: none.
         *
         * @param secret the secret (UTF-8).
         * @return this builder.
         */
        public Builder authSecret(final String secret)
        {
            this.authSecret = null == secret || secret.isEmpty() ? null :
                secret.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return this;
        }

        /**
         * @param connections most connections the metadata listener serves at once (default 64; more are closed
         *                    at accept).
         * @param peersPerClient most distinct agents one client address may load (default 1024).
         * @return this builder.
         */
        public Builder metadataLimits(final int connections, final int peersPerClient)
        {
            if (connections < 1 || peersPerClient < 1)
            {
                throw FerryException.invalid("metadata limits must be at least 1, got " + connections + " / " +
                    peersPerClient);
            }
            this.metadataMaxConnections = connections;
            this.metadataMaxPeersPerClient = peersPerClient;
            return this;
        }

        /**
         * @param observer told of every ended transfer and every notification (e.g. ferry-metrics).
         * @return this builder.
         */
        public Builder observer(final AgentObserver observer)
        {
            observers.add(Objects.requireNonNull(observer, "observer"));
            return this;
        }

        /**
         * @param address the address the metadata listener binds (default 0.0.0.0: every interface).
         * @return this builder.
         */
        public Builder listenAddress(final String address)
        {
            if (null == address || address.isBlank())
            {
                throw FerryException.invalid("listen address must be non-empty");
            }
            this.listenAddress = address.trim();
            return this;
        }

        /**
         * @return the configuration.
         * @throws FerryException INVALID_PARAM for an empty or blank name.
         */
        public AgentConfig build()
        {
            if (null == name || name.isBlank())
            {
                throw FerryException.invalid("agent name must be non-empty");
            }
            if (name.length() > 255 || name.chars().anyMatch(Character::isISOControl))
            {
                throw FerryException.invalid("agent name must be at most 255 characters without control " +
                    "characters: '" + name.replaceAll("\\p{Cntrl}", "?") + "'");
            }
            return new AgentConfig(this);
        }
    }
}
