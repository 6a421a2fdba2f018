package io.ferry.etcd;

import io.ferry.Agent;
import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An agent's metadata in etcd. Keys: {@code <namespace>/agents/<agent name>/<label>} (label {@code metadata} by
 * default), bound to a lease this object keeps alive; when etcd has lost the lease (an etcd restart with its data
 * gone) it grants a new one and publishes again. Fetched peers are watched: a deleted or expired key invalidates
 * the peer, a new value merges (new regions), and a value with changed connection info replaces the peer
 * (invalidate, then load: a reconnect to its new address rather than NOT_ALLOWED forever).
 * <pre>{@code
 * try (EtcdMetadata etcd = EtcdMetadata.builder(agent).endpoints("http://10.0.0.5:2379").build())
 * {
 *     etcd.publish();
 *     String peer = etcd.fetch("decode-0").get();
 * }
 * }</pre>
 * Threads: one keep-alive thread and a virtual thread per watch, all stopped by {@link #close()}.
 */
public final class EtcdMetadata implements AutoCloseable
{
    /** Default label of an agent's full metadata. */
    public static final String DEFAULT_LABEL = "metadata";
    private static final System.Logger LOG = System.getLogger(EtcdMetadata.class.getName());

    private final Agent agent;
    private final EtcdClient client;
    private final String namespace;
    private final Duration ttl;
    private final Duration fetchTimeout;
    private final Map<String, byte[]> published = new LinkedHashMap<>();
    private final Map<String, EtcdClient.Watch> watches = new ConcurrentHashMap<>();
    private final Thread keeper;
    private final Object lock = new Object();
    private long lease;
    private volatile boolean closed;
    private volatile boolean etcdDown;

    private EtcdMetadata(final Builder b)
    {
        agent = b.agent;
        client = new EtcdClient(b.endpoints, b.requestTimeout);
        namespace = b.namespace;
        ttl = b.ttl;
        fetchTimeout = b.fetchTimeout;
        keeper = new Thread(this::keepAliveLoop, "ferry-etcd-" + agent.name() + "-lease");
        keeper.setDaemon(true);
        keeper.start();
    }

    /**
     * @param agent the agent whose metadata to publish and into which to load peers'.
     * @return a builder.
     */
    public static Builder builder(final Agent agent)
    {
        return new Builder(agent);
    }

    /**
     * @param peer  an agent name.
     * @param label a label.
     * @return the key that holds that agent's metadata under that label.
     */
    public String key(final String peer, final String label)
    {
        return namespace + "/agents/" + peer + "/" + label;
    }

    /**
     * Publishes the agent's full metadata under the default label (again, after registrations changed).
     */
    public void publish()
    {
        publish(DEFAULT_LABEL, agent.localMetadata());
    }

    /**
     * Publishes a metadata blob (full or partial) under a label, bound to this agent's lease.
     *
     * @param label    the label.
     * @param metadata the blob.
     * @throws FerryException REMOTE_DISCONNECT when etcd cannot be reached.
     */
    public void publish(final String label, final byte[] metadata)
    {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(metadata, "metadata");
        synchronized (lock)
        {
            checkOpen();
            if (0 == lease)
            {
                lease = client.grantLease(ttl);
            }
            final byte[] record = agent.sealRecord(metadata); // with the agent's authSecret: an HMAC over it
            client.put(key(agent.name(), label), record, lease);
            published.put(label, record);
        }
    }

    /**
     * Fetches a peer's metadata under the default label, waiting for it to appear, and loads it.
     *
     * @param peer the peer's agent name.
     * @return its name once loaded; fails with TIMED_OUT when it does not appear within the fetch timeout.
     */
    public CompletableFuture<String> fetch(final String peer)
    {
        return fetch(peer, DEFAULT_LABEL, fetchTimeout);
    }

    /**
     * Fetches a peer's metadata under a label, waiting up to {@code deadline} for it to appear, loads it, and
     * watches it from then on. Returns at once.
     *
     * @param peer     the peer's agent name.
     * @param label    the label.
     * @param deadline how long to wait for the key.
     * @return the peer's name once loaded.
     */
    public CompletableFuture<String> fetch(final String peer, final String label, final Duration deadline)
    {
        checkOpen();
        final CompletableFuture<String> result = new CompletableFuture<>();
        Thread.ofVirtual().name("ferry-etcd-" + agent.name() + "-fetch").start(() ->
        {
            try
            {
                result.complete(fetchNow(peer, label, deadline));
            }
            catch (final FerryException ex)
            {
                result.completeExceptionally(ex);
            }
            catch (final RuntimeException ex)
            {
                result.completeExceptionally(new FerryException(ErrorCode.BACKEND, "fetching '" + peer + "' from " +
                    "etcd failed: " + ex, ex));
            }
        });
        return result;
    }

    private String fetchNow(final String peer, final String label, final Duration deadline)
    {
        final String key = key(peer, label);
        final long end = System.nanoTime() + deadline.toNanos();
        while (true)
        {
            final EtcdClient.Read read = client.read(key);
            final long revision = read.revision();
            final Optional<EtcdClient.KeyValue> kv = read.value();
            if (kv.isPresent())
            {
                final String name = agent.loadRemoteMetadata(agent.openRecord(kv.get().value(), key));
                startWatch(peer, label, kv.get().revision() + 1);
                return name;
            }
            final long left = end - System.nanoTime();
            if (left <= 0)
            {
                throw new FerryException(ErrorCode.TIMED_OUT, "no metadata of '" + peer + "' appeared at " + key +
                    " within " + deadline);
            }
            // wait for the key to be put, or for the rest of the deadline
            final CompletableFuture<Void> appeared = new CompletableFuture<>();
            final EtcdClient.Watch w = client.watch(key, revision + 1, ev ->
            {
                if (!ev.deleted() && ev.key().equals(key))
                {
                    appeared.complete(null);
                }
            }, appeared::completeExceptionally);
            try
            {
                appeared.get(left, java.util.concurrent.TimeUnit.NANOSECONDS);
            }
            catch (final java.util.concurrent.TimeoutException ex)
            {
                throw new FerryException(ErrorCode.TIMED_OUT, "no metadata of '" + peer + "' appeared at " + key +
                    " within " + deadline);
            }
            catch (final java.util.concurrent.ExecutionException ex)
            {
                sleepQuietly(100);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new FerryException(ErrorCode.CANCELED, "interrupted waiting for '" + peer + "'", ex);
            }
            finally
            {
                w.close();
            }
        }
    }

    private void startWatch(final String peer, final String label, final long from)
    {
        final String key = key(peer, label);
        final EtcdClient.Watch old = watches.put(key, client.watch(key, from, ev -> onPeerEvent(peer, ev),
            cause -> rewatch(peer, label)));
        if (null != old)
        {
            old.close();
        }
    }

    private void onPeerEvent(final String peer, final EtcdClient.Event ev)
    {
        if (ev.deleted())
        {
            if (agent.peers().contains(peer))
            {
                agent.invalidateRemote(peer);
                LOG.log(System.Logger.Level.INFO, "agent " + agent.name() + ": metadata of '" + peer +
                    "' left etcd (deleted or its lease expired); peer invalidated");
            }
            return;
        }
        load(peer, ev.value());
    }

    private void load(final String peer, final byte[] record)
    {
        final byte[] value;
        try
        {
            value = agent.openRecord(record, "etcd key of '" + peer + "'");
        }
        catch (final FerryException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "agent " + agent.name() + ": " + ex.getMessage());
            return;
        }
        try
        {
            agent.loadRemoteMetadata(value);
        }
        catch (final FerryException ex)
        {
            if (ErrorCode.NOT_ALLOWED != ex.code())
            {
                LOG.log(System.Logger.Level.WARNING, "agent " + agent.name() + ": cannot load new metadata of '" +
                    peer + "': " + ex.getMessage());
                return;
            }
            // changed connection info (the peer restarted elsewhere): reconnect to the new one
            if (agent.peers().contains(peer))
            {
                agent.invalidateRemote(peer);
            }
            agent.loadRemoteMetadata(value);
            LOG.log(System.Logger.Level.INFO, "agent " + agent.name() + ": '" + peer + "' published new " +
                "connection info; reloaded");
        }
    }

    /** A watch stream ended (etcd restarted or unreachable): resync from the current value and watch again. */
    private void rewatch(final String peer, final String label)
    {
        Thread.ofVirtual().name("ferry-etcd-" + agent.name() + "-rewatch").start(() ->
        {
            final String key = key(peer, label);
            while (!closed && watches.containsKey(key))
            {
                try
                {
                    final EtcdClient.Read read = client.read(key);
                    final long revision = read.revision();
                    final Optional<EtcdClient.KeyValue> kv = read.value();
                    if (kv.isEmpty())
                    {
                        if (agent.peers().contains(peer))
                        {
                            agent.invalidateRemote(peer);
                        }
                    }
                    else
                    {
                        load(peer, kv.get().value());
                    }
                    if (!closed)
                    {
                        startWatch(peer, label, revision + 1);
                    }
                    return;
                }
                catch (final FerryException ex)
                {
                    sleepQuietly(Math.max(100, ttl.toMillis() / 4));
                }
            }
        });
    }

    /**
     * Deletes every key of this agent (NIXL's {@code invalidateLocalMD} through etcd): every watcher invalidates
     * it. Publishing again later is allowed.
     */
    public void invalidate()
    {
        synchronized (lock)
        {
            checkOpen();
            published.clear();
            client.deletePrefix(namespace + "/agents/" + agent.name() + "/");
        }
    }

    /**
     * @return true while the last keep-alive could not reach etcd.
     */
    public boolean etcdUnreachable()
    {
        return etcdDown;
    }

    private void keepAliveLoop()
    {
        final long periodMs = Math.max(100, ttl.toMillis() / 3);
        while (!closed)
        {
            sleepQuietly(periodMs);
            if (closed)
            {
                return;
            }
            synchronized (lock)
            {
                if (published.isEmpty() || closed)
                {
                    continue;
                }
                try
                {
                    if (0 == lease || client.keepAlive(lease) <= 0)
                    {
                        lease = client.grantLease(ttl);
                        for (final Map.Entry<String, byte[]> e : published.entrySet())
                        {
                            client.put(key(agent.name(), e.getKey()), e.getValue(), lease);
                        }
                        LOG.log(System.Logger.Level.INFO, "agent " + agent.name() + ": etcd had lost its lease; " +
                            "published again under a new one");
                    }
                    if (etcdDown)
                    {
                        LOG.log(System.Logger.Level.INFO, "agent " + agent.name() + ": etcd is reachable again");
                    }
                    etcdDown = false;
                }
                catch (final FerryException ex)
                {
                    if (!etcdDown)
                    {
                        LOG.log(System.Logger.Level.WARNING, "agent " + agent.name() + ": cannot keep its etcd " +
                            "lease alive: " + ex.getMessage() + "; retrying every " + periodMs + " ms");
                    }
                    etcdDown = true;
                }
            }
        }
    }

    /**
     * Stops the keep-alive and every watch, and revokes the lease (this agent's keys disappear at once).
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        keeper.interrupt();
        try
        {
            keeper.join(5000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        final List<EtcdClient.Watch> ws = new ArrayList<>(watches.values());
        watches.clear();
        ws.forEach(EtcdClient.Watch::close);
        synchronized (lock)
        {
            if (0 != lease)
            {
                try
                {
                    client.revoke(lease);
                }
                catch (final FerryException ex)
                {
                    LOG.log(System.Logger.Level.DEBUG, () -> "revoking the lease failed: " + ex.getMessage());
                }
            }
        }
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "etcd metadata of agent '" + agent.name() + "' is closed");
        }
    }

    private static void sleepQuietly(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Fills in an {@link EtcdMetadata}.
     */
    public static final class Builder
    {
        private final Agent agent;
        private List<URI> endpoints = List.of(URI.create("http://127.0.0.1:2379"));
        private String namespace = "/ferry";
        private Duration ttl = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofSeconds(5);
        private Duration fetchTimeout = Duration.ofSeconds(30);

        Builder(final Agent agent)
        {
            this.agent = Objects.requireNonNull(agent, "agent");
        }

        /**
         * @param urls etcd client URLs (default http://127.0.0.1:2379).
         * @return this builder.
         */
        public Builder endpoints(final String... urls)
        {
            if (0 == urls.length)
            {
                throw new FerryException(ErrorCode.INVALID_PARAM, "no etcd endpoint given");
            }
            endpoints = Arrays.stream(urls).map(u ->
            {
                final URI uri = URI.create(u.trim());
                if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()))
                {
                    throw new FerryException(ErrorCode.INVALID_PARAM, "etcd endpoint '" + u + "' is not http(s)");
                }
                return uri;
            }).toList();
            return this;
        }

        /**
         * @param prefix key namespace (default /ferry).
         * @return this builder.
         */
        public Builder namespace(final String prefix)
        {
            if (null == prefix || prefix.isBlank() || prefix.endsWith("/"))
            {
                throw new FerryException(ErrorCode.INVALID_PARAM, "etcd namespace must be non-empty without a " +
                    "trailing '/', got '" + prefix + "'");
            }
            namespace = prefix;
            return this;
        }

        /**
         * @param value lease time to live: a dead agent disappears within it (default 10 s).
         * @return this builder.
         */
        public Builder ttl(final Duration value)
        {
            if (value.toSeconds() < 1)
            {
                throw new FerryException(ErrorCode.INVALID_PARAM, "etcd lease TTL must be at least 1 s");
            }
            ttl = value;
            return this;
        }

        /**
         * @param value deadline of each request to etcd (default 5 s).
         * @return this builder.
         */
        public Builder requestTimeout(final Duration value)
        {
            requestTimeout = value;
            return this;
        }

        /**
         * @param value how long {@link EtcdMetadata#fetch(String)} waits for a peer to appear (default 30 s).
         * @return this builder.
         */
        public Builder fetchTimeout(final Duration value)
        {
            fetchTimeout = value;
            return this;
        }

        /**
         * @return the running exchange.
         */
        public EtcdMetadata build()
        {
            return new EtcdMetadata(this);
        }
    }
}
