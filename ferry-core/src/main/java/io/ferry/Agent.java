package io.ferry;

import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import io.ferry.spi.Backend;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * A ferry agent (NIXL's {@code nixlAgent}): owns backends, registrations, what it knows of peers, and the
 * notifications that reached it. Every method may be called from any thread.
 * <pre>{@code
 * try (Agent agent = Agent.create(AgentConfig.builder("prefill-0").build()))
 * {
 *     Registration reg = agent.register(MemoryKind.DRAM, List.of(Region.of(kv)));
 *     String peer = agent.loadRemoteMetadata(peerMetadata);
 *     Transfer t = agent.createTransfer(TransferOp.WRITE, localDescs, remoteDescs, peer,
 *         TransferOptions.notify("req-17".getBytes()));
 *     t.post();
 *     t.await(Duration.ofSeconds(10));
 * }
 * }</pre>
 */
public final class Agent implements AutoCloseable
{
    static final System.Logger LOG = System.getLogger(Agent.class.getName());
    private static final Set<String> LIVE_NAMES = ConcurrentHashMap.newKeySet();

    private final AgentConfig config;
    private final String name;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Notifications in and out, and what the backends report (the backends' {@code BackendContext}). */
    private final NotificationHub notifications;
    /** The backends, their parameters and the one place that chooses among them. */
    private final BackendSet backendSet;
    /** This agent's own registered memory. */
    private final LocalRegistry registry;
    /** What this agent knows of its peers. */
    private final PeerDirectory peerDirectory;
    /** This agent's metadata as peers read it. */
    private final MetadataPublisher publisher;
    /** The socket metadata listener and client. */
    private final MetadataPlane metadataPlane;
    /** What transfers see of the agent. */
    final TransferGate transferGate;
    /** Descriptors to prepared lists and transfers. */
    private final RequestBuilder requests;

    private Agent(final AgentConfig config)
    {
        this.config = config;
        this.name = config.name();
        final Observers observers = new Observers(name, config.observers());
        notifications = new NotificationHub(config, observers);
        backendSet = BackendSet.create(config, notifications);
        registry = new LocalRegistry(name, backendSet, backendSet.backends);
        peerDirectory = new PeerDirectory(name, backendSet);
        notifications.attach(backendSet, peerDirectory);
        publisher = new MetadataPublisher(name, backendSet, registry);
        metadataPlane = new MetadataPlane(config);
        transferGate = new TransferGate(config, closed, registry, peerDirectory, observers);
        requests = new RequestBuilder(this, backendSet, registry, transferGate);
    }

    /**
     * Creates an agent and its backends.
     *
     * @param config what to create.
     * @return the running agent.
     * @throws FerryException INVALID_PARAM when another live agent in this JVM has the same name or a parameter is
     *                        unknown; NOT_FOUND for a backend that is not on the class path; NOT_SUPPORTED for one
     *                        that cannot run here; BACKEND when a backend fails to start.
     */
    public static Agent create(final AgentConfig config)
    {
        Objects.requireNonNull(config, "config");
        if (!LIVE_NAMES.add(config.name()))
        {
            throw FerryException.invalid("an agent named '" + config.name() + "' is already running in this JVM; " +
                "agent names must be unique");
        }
        try
        {
            final Agent agent = new Agent(config);
            try
            {
                agent.startListener();
            }
            catch (final RuntimeException ex)
            {
                agent.close();
                throw ex;
            }
            LOG.log(System.Logger.Level.DEBUG, () -> "agent " + agent.name + " started with backends " +
                agent.backendNames());
            return agent;
        }
        catch (final RuntimeException ex)
        {
            LIVE_NAMES.remove(config.name());
            throw ex;
        }
    }

    /**
     * @return names of the backends found on the class path that can run on this host, in default preference
     * order (NIXL's {@code getAvailPlugins}).
     */
    public static List<String> availableBackends()
    {
        return BackendSet.available();
    }

    /**
     * @param backendName a backend found on the class path.
     * @return its memory kinds and parameters with defaults (NIXL's {@code getPluginParams}).
     * @throws FerryException NOT_FOUND for an unknown backend.
     */
    public static BackendInfo backendInfo(final String backendName)
    {
        return BackendSet.providerInfo(backendName);
    }

    private void startListener()
    {
        metadataPlane.start(this::loadRemoteMetadata, this::localMetadata, peerDirectory::drop);
    }

    /**
     * @return the address of the embedded metadata listener, or empty when it is off ({@code listenPort(-1)}).
     */
    public Optional<InetSocketAddress> metadataAddress()
    {
        return metadataPlane.address();
    }

    /**
     * Sends this agent's full metadata to the agent listening at host:port, which loads it (NIXL's
     * {@code sendLocalMD}). Returns at once.
     *
     * @param host the peer's host.
     * @param port the peer's metadata port.
     * @return completes when the peer loaded it; fails with REMOTE_DISCONNECT (unreachable), TIMED_OUT (no reply
     * within the default timeout) or the peer's own error (e.g. NOT_ALLOWED).
     */
    public CompletableFuture<Void> sendMetadata(final String host, final int port)
    {
        return sendMetadata(host, port, localMetadata());
    }

    /**
     * Sends a metadata blob (typically {@link #partialMetadata}) to the agent at host:port, which loads and merges
     * it. Returns at once.
     *
     * @param host     the peer's host.
     * @param port     the peer's metadata port.
     * @param metadata what to send.
     * @return as {@link #sendMetadata(String, int)}.
     */
    public CompletableFuture<Void> sendMetadata(final String host, final int port, final byte[] metadata)
    {
        checkOpen();
        return metadataPlane.send(host, port, metadata);
    }

    /**
     * Fetches the full metadata of the agent at host:port and loads it (NIXL's {@code fetchRemoteMD}). Returns at
     * once; {@link #checkRemote} can be polled as well.
     *
     * @param host the peer's host.
     * @param port the peer's metadata port.
     * @return the peer's name once loaded; fails as {@link #sendMetadata(String, int)} or as
     * {@link #loadRemoteMetadata}.
     */
    public CompletableFuture<String> fetchMetadata(final String host, final int port)
    {
        checkOpen();
        return metadataPlane.fetch(host, port).thenApply(this::loadRemoteMetadata);
    }

    /**
     * Tells the agent at host:port to drop this agent's metadata (NIXL's {@code invalidateLocalMD}). Returns at
     * once; idempotent at the peer.
     *
     * @param host the peer's host.
     * @param port the peer's metadata port.
     * @return completes when the peer dropped it.
     */
    public CompletableFuture<Void> invalidateAt(final String host, final int port)
    {
        checkOpen();
        return metadataPlane.invalidate(host, port);
    }

    /**
     * Seals a metadata blob for a shared store such as etcd: with the agent's {@code authSecret}, an HMAC over it
     * ({@link io.ferry.metadata.RecordSeal}); without, the blob as it is.
     *
     * @param blob a metadata blob (typically {@link #localMetadata()}).
     * @return the record to store.
     */
    public byte[] sealRecord(final byte[] blob)
    {
        return metadataPlane.seal(blob);
    }

    /**
     * Opens a record read from a shared store: with the agent's {@code authSecret} it must carry a valid seal.
     *
     * @param record the stored record.
     * @param where  where it was read (a key), for the error.
     * @return the metadata blob inside.
     * @throws FerryException NOT_ALLOWED when the seal is missing or wrong (or present without a secret here).
     */
    public byte[] openRecord(final byte[] record, final String where)
    {
        return metadataPlane.open(record, where);
    }

    /**
     * @return the agent's name.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return the configuration it was created with.
     */
    public AgentConfig config()
    {
        return config;
    }

    /**
     * @return the names of its backends, in order of preference.
     */
    public List<String> backendNames()
    {
        return backendNames(-1L);
    }

    /**
     * @param backendName one of this agent's backends.
     * @return its memory kinds and effective parameters (NIXL's {@code getBackendParams}).
     * @throws FerryException NOT_FOUND when the agent has no such backend.
     */
    public BackendInfo backendParams(final String backendName)
    {
        final int slot = backendSet.slotOf(backendName);
        if (slot < 0)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "agent '" + name + "' has no backend '" + backendName +
                "' (it has " + backendNames() + ")");
        }
        return new BackendInfo(backendSet.backends[slot].name(), backendSet.backends[slot].memoryKinds(),
            backendSet.params.get(slot), null);
    }

    // ------------------------------------------------------------------------------------------ registration

    /**
     * Registers regions with every backend of this agent that supports their kind (all-or-nothing per backend;
     * succeeds if at least one backend took them all).
     *
     * @param kind        the memory kind of every region.
     * @param regions     the regions.
     * @param backendOnly limit registration to these backends (none given: every capable backend).
     * @return the registration; close it to deregister.
     * @throws FerryException INVALID_PARAM for an empty list or region; NOT_FOUND when no backend supports the kind;
     *                        BACKEND when every candidate backend failed.
     */
    public Registration register(final MemoryKind kind, final List<Region> regions, final String... backendOnly)
    {
        checkOpen();
        return new Registration(this, kind, registry.register(kind, regions, backendOnly));
    }

    /**
     * Deregisters regions given by their exact spans (NIXL's {@code deregisterMem}): every descriptor must equal a
     * registered region, or nothing is deregistered.
     *
     * @param kind  the memory kind.
     * @param descs the exact spans that were registered.
     * @throws FerryException NOT_FOUND naming the first descriptor that matches no registered region exactly.
     */
    public void deregister(final MemoryKind kind, final DescList descs)
    {
        checkOpen();
        registry.deregister(kind, descs);
    }

    void deregister(final Registration registration)
    {
        registry.deregister(registration.kind(), registration.regions());
    }

    /**
     * @param kind a memory kind.
     * @return how many regions of that kind are registered.
     */
    public int registeredRegionCount(final MemoryKind kind)
    {
        return registry.count(kind);
    }

    // ------------------------------------------------------------------------------------------ metadata

    /**
     * @return this agent's full metadata: name, every remote-capable backend's connection info and every region's
     * public data (NIXL's {@code getLocalMD}).
     * @throws FerryException INVALID_PARAM when no backend serves remote peers.
     */
    public byte[] localMetadata()
    {
        checkOpen();
        return publisher.full();
    }

    /**
     * Partial metadata (NIXL's {@code getLocalPartialMD}): the public data of some registered regions, with or
     * without connection info; an empty list gives connection info only.
     *
     * @param regions               spans that are exactly registered regions (e.g. {@link Registration#descs()}).
     * @param includeConnectionInfo whether to include connection info along with non-empty regions.
     * @return the metadata blob.
     * @throws FerryException NOT_FOUND naming a descriptor that is not a registered region.
     */
    public byte[] partialMetadata(final DescList regions, final boolean includeConnectionInfo)
    {
        checkOpen();
        return publisher.partial(regions, includeConnectionInfo);
    }

    /**
     * Loads a peer's metadata, full or partial, merging with what is known (NIXL's {@code loadRemoteMD}). Does not
     * connect. Sections for backends this agent lacks are ignored.
     *
     * @param metadata a blob from the peer's {@link #localMetadata()} or {@link #partialMetadata}.
     * @return the peer's name.
     * @throws FerryException MISMATCH for bytes that are not valid metadata; INVALID_PARAM for this agent's own
     *                        metadata; NOT_ALLOWED when connection info or a region's data differ from what is
     *                        loaded (invalidate the peer first); NOT_FOUND for regions of an unknown peer without
     *                        connection info; BACKEND when no backend can reach the peer.
     */
    public String loadRemoteMetadata(final byte[] metadata)
    {
        checkOpen();
        final AgentMetadata md = MetadataCodec.decode(metadata);
        final String peer = md.name();
        if (peer.equals(name))
        {
            throw FerryException.invalid("metadata of agent '" + name + "' cannot be loaded into itself");
        }
        peerDirectory.load(md);
        return peer;
    }

    /**
     * @param peer  a peer's name.
     * @param descs descriptors in the peer's memory, or an empty list.
     * @return true when the peer's metadata is loaded and (for a non-empty list) one backend reaches every
     * descriptor (NIXL's {@code checkRemoteMD}).
     */
    public boolean checkRemote(final String peer, final DescList descs)
    {
        checkOpen();
        final PeerState ps = peerDirectory.get(peer);
        if (null == ps)
        {
            return false;
        }
        if (null == descs || descs.isEmpty())
        {
            return true;
        }
        try
        {
            prepareRemote(ps, descs);
            return true;
        }
        catch (final FerryException ex)
        {
            return false;
        }
    }

    /**
     * Drops a peer's metadata and disconnects from it (NIXL's {@code invalidateRemoteMD}); transfers made for it
     * fail with NOT_FOUND from now on, even after it is loaded again.
     *
     * @param peer the peer's name.
     * @throws FerryException INVALID_PARAM for this agent's own name; NOT_FOUND when the peer is not loaded.
     */
    public void invalidateRemote(final String peer)
    {
        checkOpen();
        if (name.equals(peer))
        {
            throw FerryException.invalid("agent '" + name + "' cannot invalidate itself");
        }
        if (null == peerDirectory.drop(peer))
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "no metadata of peer '" + peer + "' is loaded in agent '" +
                name + "'");
        }
    }

    /**
     * @return the state of every backend connection to every peer (TCP paths: window, bytes in flight, RTT).
     */
    public List<PathStats> pathStats()
    {
        final List<PathStats> all = new ArrayList<>();
        for (final Backend b : backendSet.backends)
        {
            all.addAll(b.pathStats());
        }
        return all;
    }

    /**
     * The regions of one kind a peer published and this agent loaded, e.g. to address a benchmark target's memory
     * or to check what a peer offers.
     *
     * @param peer a loaded peer.
     * @param kind the memory kind.
     * @return the regions, by address.
     * @throws FerryException NOT_FOUND when the peer is not loaded.
     */
    public DescList peerRegions(final String peer, final MemoryKind kind)
    {
        checkOpen();
        Objects.requireNonNull(kind, "kind");
        final List<PeerRegion> all = new ArrayList<>(peerDirectory.require(peer).regions(kind).entries());
        all.sort(java.util.Comparator.comparingLong((PeerRegion r) -> r.address));
        final DescList.Builder b = DescList.builder(kind, Math.max(1, all.size()));
        for (final PeerRegion r : all)
        {
            b.add(r.address, r.length, r.deviceId);
        }
        return b.build();
    }

    /**
     * @return names of the peers whose metadata is loaded.
     */
    public Set<String> peers()
    {
        return peerDirectory.names();
    }

    /**
     * @param peer a peer whose metadata is loaded.
     * @return this agent's backends that reach it, in this agent's order of preference: a transfer that names no
     * backend goes by the first of them that holds every descriptor on both sides (SHM before TCP for a peer on this
     * host, say).
     * @throws FerryException NOT_FOUND when its metadata is not loaded.
     */
    public List<String> backendsReaching(final String peer)
    {
        checkOpen();
        return backendSet.names(peerDirectory.require(peer).reachableMask);
    }

    /**
     * Connects to a peer now on every backend that reaches it, rather than on the first transfer.
     *
     * @param peer the peer's name.
     * @throws FerryException NOT_FOUND when its metadata is not loaded; a backend's error when it cannot connect.
     */
    public void connect(final String peer)
    {
        checkOpen();
        final PeerState ps = peerDirectory.require(peer);
        for (int slot = 0; slot < backendSet.backends.length; slot++)
        {
            if (0 != (ps.reachableMask & (1L << slot)))
            {
                backendSet.backends[slot].connect(peer);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ transfers

    /**
     * Resolves a list of this agent's own memory for use as the local side of transfers.
     *
     * @param descs descriptors inside registered regions.
     * @return the prepared list.
     * @throws FerryException INVALID_PARAM for an empty list; NOT_FOUND naming a descriptor outside every
     *                        registered region, or when no single backend holds them all.
     */
    public PreparedList prepare(final DescList descs)
    {
        checkOpen();
        requireNonEmpty(descs);
        return requests.resolve(PreparedList.Side.LOCAL, null, 0, registry.index(descs.kind()), descs, -1L,
            "registered with agent '" + name + "'");
    }

    /**
     * Resolves a list of a peer's memory (or, with this agent's own name, of its own memory for a loopback
     * transfer) for use as the remote side of transfers.
     *
     * @param peer  the target agent's name.
     * @param descs descriptors inside regions the peer published.
     * @return the prepared list, bound to the peer's current metadata generation.
     * @throws FerryException NOT_FOUND when the peer is unknown, a descriptor lies outside its published regions,
     *                        or no backend reaches every descriptor.
     */
    public PreparedList prepare(final String peer, final DescList descs)
    {
        checkOpen();
        Objects.requireNonNull(peer, "peer");
        requireNonEmpty(descs);
        if (name.equals(peer))
        {
            return requests.resolve(PreparedList.Side.LOOPBACK, name, 0, registry.index(descs.kind()), descs, backendSet.localMask,
                "registered with agent '" + name + "'");
        }
        return prepareRemote(peerDirectory.require(peer), descs);
    }

    private PreparedList prepareRemote(final PeerState ps, final DescList descs)
    {
        return requests.resolve(PreparedList.Side.REMOTE, ps.name, ps.generation, ps.regions(descs.kind()), descs,
            ps.reachableMask, "published by peer '" + ps.name + "'");
    }

    /**
     * Makes a transfer from prepared lists and index arrays (NIXL's {@code makeXferReq}), the fast path:
     * {@code local[localIndices[k]]} moves to or from {@code remote[remoteIndices[k]]}. Pairs that are contiguous
     * with the previous pair on both sides are merged into one span.
     *
     * @param op            READ or WRITE.
     * @param local         a list from {@link #prepare(DescList)}.
     * @param localIndices  indices into {@code local}.
     * @param remote        a list from {@link #prepare(String, DescList)}.
     * @param remoteIndices indices into {@code remote}, as many as {@code localIndices}.
     * @param options       notification and backend choice.
     * @return the transfer, not yet posted.
     * @throws FerryException INVALID_PARAM for lists of the wrong side or agent, index arrays that are empty, of
     *                        different lengths or out of range, pairs of different lengths, or a backend that cannot
     *                        serve both lists; BACKEND when a notification is asked of a backend without them.
     */
    public Transfer transfer(
        final TransferOp op,
        final PreparedList local,
        final int[] localIndices,
        final PreparedList remote,
        final int[] remoteIndices,
        final TransferOptions options)
    {
        checkOpen();
        return requests.build(op, local, localIndices, remote, remoteIndices, options);
    }

    /**
     * Makes a transfer from two descriptor lists in one call (NIXL's {@code createXferReq}): descriptor {@code i}
     * of {@code local} pairs with descriptor {@code i} of {@code remote}; contiguous pairs are merged.
     *
     * @param op      READ or WRITE.
     * @param local   the initiator's memory.
     * @param remote  the target's memory.
     * @param peer    the target agent (this agent's own name for a loopback transfer).
     * @param options notification and backend choice.
     * @return the transfer, not yet posted.
     * @throws FerryException as {@link #prepare(DescList)}, {@link #prepare(String, DescList)} and
     *                        {@link #transfer}; INVALID_PARAM when the lists differ in size.
     */
    public Transfer createTransfer(
        final TransferOp op,
        final DescList local,
        final DescList remote,
        final String peer,
        final TransferOptions options)
    {
        checkOpen();
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(remote, "remote");
        if (local.size() != remote.size())
        {
            throw FerryException.invalid("local list has " + local.size() + " descriptors, remote list " +
                remote.size());
        }
        final PreparedList lp = prepare(local);
        final PreparedList rp = prepare(peer, remote);
        final int[] indices = new int[local.size()];
        for (int i = 0; i < indices.length; i++)
        {
            indices[i] = i;
        }
        return transfer(op, lp, indices, rp, indices, options);
    }

    // ------------------------------------------------------------------------------------------ notifications

    /**
     * Sends a notification on its own (NIXL's {@code genNotif}); unordered with respect to transfers.
     *
     * @param peer    the target agent (this agent's own name to notify itself).
     * @param payload the message, may be empty.
     * @throws FerryException NOT_FOUND when the peer is not loaded; BACKEND when no backend can notify it.
     */
    public void sendNotification(final String peer, final byte[] payload)
    {
        checkOpen();
        notifications.send(peer, payload);
    }

    /**
     * Takes every notification that arrived so far (NIXL's {@code getNotifs}), in arrival order.
     *
     * @return the notifications, possibly none.
     */
    public List<Notification> pollNotifications()
    {
        return notifications.drain();
    }

    /**
     * Waits for the next notification and takes it.
     *
     * @param timeout the most to wait.
     * @return the notification.
     * @throws FerryException TIMED_OUT at the deadline; CANCELED when interrupted or the agent closes.
     */
    public Notification awaitNotification(final Duration timeout)
    {
        return awaitNotification(n -> true, timeout);
    }

    /**
     * Waits for a notification that matches and takes it, leaving others queued.
     *
     * @param match   which notification to take, e.g. {@code n -> n.sender().equals("prefill-0")}.
     * @param timeout the most to wait.
     * @return the notification.
     * @throws FerryException TIMED_OUT at the deadline; CANCELED when interrupted or the agent closes.
     */
    public Notification awaitNotification(final Predicate<Notification> match, final Duration timeout)
    {
        return notifications.await(match, timeout);
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    /**
     * @return true once {@link #close()} was called.
     */
    public boolean isClosed()
    {
        return closed.get();
    }

    /**
     * Stops the agent: closes its backends (stopping their threads; transfers in progress fail with CANCELED),
     * drops registrations and peers, and wakes notification waiters. Idempotent.
     */
    public void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        metadataPlane.close();
        notifications.close();
        for (final Backend b : backendSet.backends)
        {
            BackendSet.closeQuietly(b);
        }
        registry.close();
        peerDirectory.clear();
        LIVE_NAMES.remove(name);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Agent{" + name + ", backends=" + backendNames() + (closed.get() ? ", closed" : "") + "}";
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** @return the backends, in order of preference (for tests in this package: {@code Fixtures.backends}). */
    List<Backend> backends()
    {
        return List.of(backendSet.backends);
    }

    List<String> backendNames(final long mask)
    {
        return backendSet.names(mask);
    }

    private static void requireNonEmpty(final DescList descs)
    {
        Objects.requireNonNull(descs, "descs");
        if (descs.isEmpty())
        {
            throw FerryException.invalid("descriptor list is empty");
        }
    }

    private void checkOpen()
    {
        if (closed.get())
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "agent '" + name + "' is closed");
        }
    }
}
