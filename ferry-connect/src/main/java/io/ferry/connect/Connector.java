package io.ferry.connect;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.AgentObserver;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * ferry's high-level API (Dynamo's {@code nixl_connect.Connector}): owns an agent (TCP by default, with its
 * metadata listener on) and one thread that routes the connector's notifications, ends operations whose peer
 * failed or vanished, and expires leases. Thread-safe; {@link #close()} stops the thread and the agent.
 * <pre>{@code
 * // the side that owns the memory
 * try (Connector owner = Connector.create("prefill-0");
 *      Operation readable = owner.createReadable(List.of(Descriptor.of(kv))))
 * {
 *     send(readable.metadata().toJson());                  // by any channel
 *     readable.awaitCompletion(Duration.ofSeconds(30));   // ends ERRORED if the reader fails or dies
 * }
 * // the side that moves the bytes
 * try (Connector reader = Connector.create("decode-0");
 *      Operation read = reader.beginRead(TransferMetadata.fromJson(json), List.of(Descriptor.of(buffer))))
 * {
 *     read.awaitCompletion(Duration.ofSeconds(30));
 * }
 * }</pre>
 */
public final class Connector implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(Connector.class.getName());
    private static final Duration IDLE = Duration.ofMillis(20);

    private final Agent agent;
    private final String name;
    private final Inbox inbox = new Inbox();
    private final LeaseTable leases = new LeaseTable();
    private final Map<String, Operation> passive = new ConcurrentHashMap<>();
    private final Map<String, BlockPool> pools = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<ControlMessage>> hellos = new ConcurrentHashMap<>();
    private final Set<String> expiredReports = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<String[]> lostPeers = new ConcurrentLinkedQueue<>();
    private final AtomicLong keys = new AtomicLong();
    private final String keySalt;
    private final Thread dispatcher;
    private volatile boolean closed;

    private Connector(final AgentConfig.Builder config)
    {
        agent = Agent.create(config.observer(new PeerLossObserver()).build());
        name = agent.name();
        final byte[] salt = new byte[8];
        new SecureRandom().nextBytes(salt);
        keySalt = HexFormat.of().formatHex(salt);
        dispatcher = new Thread(this::run, "ferry-connect-" + name);
        dispatcher.setDaemon(true);
        dispatcher.start();
    }

    /**
     * A connector whose agent has the TCP backend with default parameters and a metadata listener on any free
     * port.
     *
     * @param name the agent name, unique among the peers.
     * @return the connector.
     */
    public static Connector create(final String name)
    {
        return new Connector(AgentConfig.builder(name).backends("TCP"));
    }

    /**
     * A connector with an agent configured by the caller (backends, parameters, listener, default timeout).
     *
     * @param config the agent's configuration; the connector adds its own observer.
     * @return the connector.
     */
    public static Connector create(final AgentConfig.Builder config)
    {
        return new Connector(Objects.requireNonNull(config, "config"));
    }

    /**
     * @return the agent's name.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return this host's name.
     */
    public String hostname()
    {
        try
        {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (final java.io.IOException ex)
        {
            return "localhost";
        }
    }

    /**
     * @return true when a CUDA backend is on the class path and can run here.
     */
    public boolean isCudaAvailable()
    {
        return Agent.availableBackends().contains("CUDA");
    }

    /**
     * @return the agent, for what the connector does not cover (metadata address, path statistics).
     */
    public Agent agent()
    {
        return agent;
    }

    // ------------------------------------------------------------------------------------------ operations

    /**
     * Makes memory readable by a peer: registers it and returns the passive operation whose
     * {@link Operation#metadata()} the peer needs. It completes when the peer's read completed.
     *
     * @param descs the memory, in order.
     * @return the operation, INITIALIZED.
     * @throws FerryException INVALID_PARAM for an empty list or descriptors on different kinds of device.
     */
    public Operation createReadable(final List<Descriptor> descs)
    {
        return createPassive(Operation.Role.READABLE, TransferMetadata.Kind.READABLE, descs);
    }

    /**
     * Makes memory writable by a peer; it completes when the peer's write completed (every byte in place).
     *
     * @param descs the memory, in order.
     * @return the operation, INITIALIZED.
     * @throws FerryException as {@link #createReadable}.
     */
    public Operation createWritable(final List<Descriptor> descs)
    {
        return createPassive(Operation.Role.WRITABLE, TransferMetadata.Kind.WRITABLE, descs);
    }

    private Operation createPassive(final Operation.Role role, final TransferMetadata.Kind kind,
        final List<Descriptor> descs)
    {
        checkOpen();
        final MemoryKind memory = memoryKind(descs, "");
        final Registration reg = agent.register(memory, regions(descs));
        try
        {
            final String key = newKey();
            final TransferMetadata md = new TransferMetadata(kind, name, key, descs,
                agent.partialMetadata(reg.descs(), true));
            final Operation op = new Operation(this, role, key, md.totalBytes(), md, null);
            op.registration(reg);
            passive.put(key, op);
            return op;
        }
        catch (final RuntimeException ex)
        {
            deregisterQuietly(reg);
            throw ex;
        }
    }

    /**
     * Reads a peer's readable memory into ours.
     *
     * @param remote the peer's {@link TransferMetadata} (READABLE).
     * @param local  where the bytes go: as many descriptors as the remote's, of the same sizes.
     * @return the operation, IN_PROGRESS (or already ended).
     * @throws FerryException INVALID_PARAM for WRITABLE metadata or descriptors that do not match (naming the
     *                        first that differs); as {@link Agent#loadRemoteMetadata} when its metadata is refused.
     */
    public Operation beginRead(final TransferMetadata remote, final List<Descriptor> local)
    {
        return beginActive(Operation.Role.READ, remote, local);
    }

    /**
     * Writes our memory into a peer's writable memory; the peer's operation completes after every byte.
     *
     * @param local  the bytes to write: as many descriptors as the remote's, of the same sizes.
     * @param remote the peer's {@link TransferMetadata} (WRITABLE).
     * @return the operation, IN_PROGRESS (or already ended).
     * @throws FerryException INVALID_PARAM for READABLE metadata or descriptors that do not match.
     */
    public Operation beginWrite(final List<Descriptor> local, final TransferMetadata remote)
    {
        return beginActive(Operation.Role.WRITE, remote, local);
    }

    private Operation beginActive(final Operation.Role role, final TransferMetadata remote,
        final List<Descriptor> local)
    {
        checkOpen();
        Objects.requireNonNull(remote, "remote");
        final TransferMetadata.Kind wanted = Operation.Role.READ == role ? TransferMetadata.Kind.READABLE :
            TransferMetadata.Kind.WRITABLE;
        if (remote.kind() != wanted)
        {
            throw FerryException.invalid("operation " + remote.key() + " of " + remote.agent() + " is " +
                remote.kind() + ": it may only be " + (TransferMetadata.Kind.READABLE == remote.kind() ?
                "read (beginRead)" : "written (beginWrite)"));
        }
        final MemoryKind memory = memoryKind(local, "local ");
        final List<Descriptor> theirs = remote.descriptors();
        if (theirs.size() != local.size())
        {
            throw FerryException.invalid("operation " + remote.key() + " has " + theirs.size() + " descriptor(s) but " +
                local.size() + " local one(s) were given");
        }
        for (int i = 0; i < theirs.size(); i++)
        {
            if (theirs.get(i).size() != local.get(i).size())
            {
                throw FerryException.invalid("local descriptor " + i + " is " + local.get(i).size() + " B but " +
                    remote.agent() + "'s descriptor " + i + " is " + theirs.get(i).size() + " B");
            }
        }
        final String peer = agent.loadRemoteMetadata(remote.agentMetadata());
        if (!peer.equals(remote.agent()))
        {
            throw FerryException.invalid("transfer metadata names agent '" + remote.agent() + "' but carries the " +
                "metadata of '" + peer + "'");
        }
        final Registration reg = agent.register(memory, regions(local));
        final Operation op = new Operation(this, role, remote.key(), remote.totalBytes(), null, peer);
        op.registration(reg);
        try
        {
            sendControlOrThrow(peer, ControlMessage.BEGIN, remote.key());
            final Transfer t = agent.createTransfer(Operation.Role.READ == role ? TransferOp.READ : TransferOp.WRITE,
                descList(local, memory), descList(theirs, remote.descriptors().getFirst().device().memoryKind()),
                peer, TransferOptions.notify(ControlMessage.encode(ControlMessage.DONE, remote.key())));
            start(op, t);
        }
        catch (final RuntimeException ex)
        {
            op.fail(ex instanceof FerryException fe ? fe : new FerryException(ErrorCode.UNKNOWN, ex.toString(), ex));
            throw ex;
        }
        op.completion().whenComplete((o, ex) ->
        {
            if (null != ex && !(op.status() == OperationStatus.CANCELLED))
            {
                sendControl(peer, ControlMessage.FAIL, op.key(), String.valueOf(ex.getMessage()));
            }
        });
        return op;
    }

    /** Posts an active operation's transfer and ties the operation's end to it. */
    void start(final Operation op, final Transfer t)
    {
        op.transfer(t);
        op.started();
        try
        {
            t.post();
        }
        catch (final FerryException ex)
        {
            op.fail(ex);
            throw ex;
        }
        t.completion().whenComplete((x, thrown) ->
        {
            if (null == thrown)
            {
                op.complete();
                return;
            }
            final Throwable ex = thrown instanceof java.util.concurrent.CompletionException && null != thrown.getCause() ?
                thrown.getCause() : thrown;
            op.fail(ex instanceof FerryException fe ? new FerryException(fe.code(), op + " failed: " +
                fe.getMessage(), fe) : new FerryException(ErrorCode.UNKNOWN, op + " failed: " + ex, ex));
        });
    }

    /**
     * Registers a KV cache as a block pool (see {@link BlockPool}); other connectors handshake with it by its
     * layout tag.
     *
     * @param layout  regions x blocks x block size, and the tag peers must match.
     * @param regions the memory of each region, at least {@code blockCount x blockBytes} each.
     * @return the pool.
     * @throws FerryException INVALID_PARAM for a region count or size that does not fit the layout, or a second
     *                        pool with the same tag.
     */
    public BlockPool createBlockPool(final BlockLayout layout, final List<MemorySegment> regions)
    {
        checkOpen();
        final BlockPool pool = new BlockPool(this, layout, regions);
        if (null != pools.putIfAbsent(layout.tag(), pool))
        {
            pool.close();
            throw FerryException.invalid("connector " + name + " already has a block pool tagged '" + layout.tag() +
                "'");
        }
        return pool;
    }

    // ------------------------------------------------------------------------------------------ messages

    /**
     * Sends an application message to a peer (its {@link #awaitMessage} receives it).
     *
     * @param peer    a peer whose metadata is loaded.
     * @param payload the message.
     * @throws FerryException NOT_FOUND for an unknown peer; as {@link Agent#sendNotification}.
     */
    public void sendMessage(final String peer, final byte[] payload)
    {
        checkOpen();
        agent.sendNotification(peer, ControlMessage.encode(ControlMessage.USER, "", payload));
    }

    /**
     * Takes the first application message from a peer that matches, including the notifications of block-pool
     * transfers (a failed push arrives as a notification whose {@link Notification#isFailure()} is true).
     *
     * @param peer    the sender; the wait ends with REMOTE_DISCONNECT if it is lost meanwhile.
     * @param match   which message.
     * @param timeout the most to wait.
     * @return the message.
     * @throws FerryException TIMED_OUT at the deadline; REMOTE_DISCONNECT when the peer was lost; CANCELED on close.
     */
    public Notification awaitMessage(final String peer, final Predicate<Notification> match, final Duration timeout)
    {
        return inbox.await(Objects.requireNonNull(peer, "peer"), match, timeout, name);
    }

    /**
     * Takes the first application message from any peer that matches.
     *
     * @param match   which message.
     * @param timeout the most to wait.
     * @return the message.
     * @throws FerryException TIMED_OUT at the deadline; CANCELED on close.
     */
    public Notification awaitMessage(final Predicate<Notification> match, final Duration timeout)
    {
        return inbox.await(null, match, timeout, name);
    }

    // ------------------------------------------------------------------------------------------ internals

    String newKey()
    {
        return name + "/" + keySalt + "/" + keys.incrementAndGet();
    }

    LeaseTable leases()
    {
        return leases;
    }

    void ended(final Operation op)
    {
        if (op.role().isPassive())
        {
            passive.remove(op.key(), op);
        }
    }

    void deregisterQuietly(final Registration r)
    {
        try
        {
            r.close();
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, () -> "deregistration failed: " + ex);
        }
    }

    void sendControl(final String peer, final byte verb, final String key, final String body)
    {
        try
        {
            agent.sendNotification(peer, ControlMessage.encode(verb, key, body));
        }
        catch (final RuntimeException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, () -> "connector " + name + " could not tell " + peer + ": " + ex);
        }
    }

    void sendControlOrThrow(final String peer, final byte verb, final String key)
    {
        checkOpen();
        agent.sendNotification(peer, ControlMessage.encode(verb, key));
    }

    boolean peerReportedExpired(final String peer, final String requestId)
    {
        return expiredReports.contains(peer + '\u0000' + requestId);
    }

    String fetchPeer(final String host, final int port, final Duration timeout)
    {
        return get(agent.fetchMetadata(host, port), timeout, "metadata of the agent at " + host + ":" + port);
    }

    PeerPool helloPool(final BlockPool pool, final String peer, final Duration timeout)
    {
        final String tag = pool.layout().tag();
        final String waitKey = peer + '\u0000' + tag;
        final CompletableFuture<ControlMessage> reply = new CompletableFuture<>();
        hellos.put(waitKey, reply);
        try
        {
            agent.sendNotification(peer, ControlMessage.encode(ControlMessage.HELLO, tag, pool.handshakeBytes()));
            final ControlMessage answer = get(reply, timeout, "handshake answer of " + peer + " for pool '" + tag +
                "'");
            if (ControlMessage.HELLO_REJECT == answer.verb)
            {
                final String why = answer.bodyAsString();
                throw new FerryException(why.startsWith("no block pool") ? ErrorCode.NOT_FOUND : ErrorCode.MISMATCH,
                    peer + " refused the handshake of pool '" + tag + "': " + why);
            }
            return pool.attach(answer.body);
        }
        finally
        {
            hellos.remove(waitKey, reply);
        }
    }

    private static <T> T get(final CompletableFuture<T> f, final Duration timeout, final String what)
    {
        try
        {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (final TimeoutException ex)
        {
            throw new FerryException(ErrorCode.TIMED_OUT, "no " + what + " within " + timeout);
        }
        catch (final ExecutionException ex)
        {
            if (ex.getCause() instanceof FerryException fe)
            {
                throw new FerryException(fe.code(), what + ": " + fe.getMessage(), fe);
            }
            throw new FerryException(ErrorCode.UNKNOWN, what + ": " + ex.getCause(), ex.getCause());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for " + what, ex);
        }
    }

    void poolClosed(final BlockPool pool)
    {
        pools.remove(pool.layout().tag(), pool);
        for (final BlockLease l : leases.takePool(pool))
        {
            pool.leaseEnded(l, BlockLease.State.CANCELLED, "its block pool was closed");
        }
    }

    private static MemoryKind memoryKind(final List<Descriptor> descs, final String side)
    {
        Objects.requireNonNull(descs, "descs");
        if (descs.isEmpty())
        {
            throw FerryException.invalid("no " + side + "descriptors given");
        }
        final Device.Kind kind = descs.getFirst().device().kind();
        for (int i = 1; i < descs.size(); i++)
        {
            if (descs.get(i).device().kind() != kind)
            {
                throw FerryException.invalid(side + "descriptor " + i + " is on " + descs.get(i).device() +
                    " but descriptor 0 on " + descs.getFirst().device() + "; one operation moves one kind of memory");
            }
        }
        return descs.getFirst().device().memoryKind();
    }

    private static List<Region> regions(final List<Descriptor> descs)
    {
        final List<Region> out = new ArrayList<>(descs.size());
        for (final Descriptor d : descs)
        {
            out.add(d.region());
        }
        return out;
    }

    private static DescList descList(final List<Descriptor> descs, final MemoryKind kind)
    {
        final DescList.Builder b = DescList.builder(kind, descs.size());
        for (final Descriptor d : descs)
        {
            b.add(new MemoryDesc(d.address(), d.size(), d.device().id()));
        }
        return b.build();
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "connector " + name + " was closed");
        }
    }

    // ------------------------------------------------------------------------------------------ dispatcher

    private void run()
    {
        while (!closed)
        {
            try
            {
                if (0 == doWork(System.nanoTime()))
                {
                    final Notification n = agent.awaitNotification(IDLE);
                    handle(n);
                }
            }
            catch (final FerryException ex)
            {
                if (ErrorCode.TIMED_OUT != ex.code() && !closed)
                {
                    LOG.log(System.Logger.Level.WARNING, "connector " + name + ": " + ex.getMessage(), ex);
                }
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.WARNING, "connector " + name + " dispatcher failed", ex);
            }
        }
    }

    /**
     * One round of the dispatcher: takes the peers lost so far, handles every notification that arrived (those
     * sent before a loss are already queued, so a completed operation is never failed by its peer's exit), then
     * ends what the losses end and expires leases due at {@code nowNs}.
     *
     * @return how much work was done.
     */
    int doWork(final long nowNs)
    {
        int work = 0;
        List<String[]> lost = null;
        String[] l;
        while (null != (l = lostPeers.poll()))
        {
            if (null == lost)
            {
                lost = new ArrayList<>();
            }
            lost.add(l);
        }
        for (final Notification n : agent.pollNotifications())
        {
            handle(n);
            work++;
        }
        if (null != lost)
        {
            for (final String[] peerAndReason : lost)
            {
                peerLost(peerAndReason[0], peerAndReason[1]);
                work++;
            }
        }
        for (final BlockLease lease : leases.takeExpired(nowNs))
        {
            lease.pool().leaseEnded(lease, BlockLease.State.EXPIRED, "no heartbeat or release from " + lease.peer() +
                " within " + lease.duration().toMillis() + " ms");
            work++;
        }
        return work;
    }

    private void peerLost(final String peer, final String reason)
    {
        for (final Operation op : passive.values())
        {
            if (peer.equals(op.peer()))
            {
                op.fail(new FerryException(ErrorCode.REMOTE_DISCONNECT, op + ": lost peer " + peer + " (" + reason +
                    ")"));
            }
        }
        for (final BlockLease lease : leases.takePeer(peer))
        {
            lease.pool().leaseEnded(lease, BlockLease.State.EXPIRED, "peer " + peer + " was lost (" + reason + ")");
        }
    }

    private void handle(final Notification n)
    {
        final ControlMessage m = ControlMessage.decode(n.payload());
        if (null == m)
        {
            inbox.seen(n.sender());
            inbox.add(n);
            return;
        }
        final String sender = n.sender();
        inbox.seen(sender);
        switch (m.verb)
        {
            case ControlMessage.USER -> inbox.add(null == n.failureReason() ? new Notification(sender, m.body) :
                new Notification(sender, m.body, n.failureReason()));
            case ControlMessage.BEGIN ->
            {
                final Operation op = passiveFrom(m.key, sender);
                if (null != op)
                {
                    op.begun(sender);
                }
            }
            case ControlMessage.DONE ->
            {
                final Operation op = passiveFrom(m.key, sender);
                if (null != op)
                {
                    op.begun(sender);
                    if (n.isFailure())
                    {
                        op.fail(new FerryException(ErrorCode.BACKEND, op + ": " + sender + "'s transfer failed: " +
                            n.failureReason()));
                    }
                    else
                    {
                        op.complete();
                    }
                }
            }
            case ControlMessage.CANCEL, ControlMessage.FAIL ->
            {
                final Operation op = passiveFrom(m.key, sender);
                if (null != op)
                {
                    op.begun(sender);
                    op.fail(new FerryException(ControlMessage.CANCEL == m.verb ? ErrorCode.CANCELED : ErrorCode.BACKEND,
                        op + ": " + (ControlMessage.CANCEL == m.verb ? "cancelled by " + sender : sender +
                        " failed") + " (" + m.bodyAsString() + ")"));
                }
            }
            case ControlMessage.RELEASE ->
            {
                final BlockLease lease = leases.take(sender, m.key);
                if (null != lease)
                {
                    lease.pool().leaseEnded(lease, BlockLease.State.RELEASED, "released by " + sender);
                }
            }
            case ControlMessage.EXTEND ->
            {
                if (!leases.extend(sender, m.key, System.nanoTime()))
                {
                    sendControl(sender, ControlMessage.EXPIRED, m.key, "");
                }
            }
            case ControlMessage.EXPIRED -> expiredReports.add(sender + '\u0000' + m.key);
            case ControlMessage.HELLO -> answerHello(sender, m);
            case ControlMessage.HELLO_OK, ControlMessage.HELLO_REJECT ->
            {
                final CompletableFuture<ControlMessage> f = hellos.get(sender + '\u0000' + m.key);
                if (null != f)
                {
                    f.complete(m);
                }
            }
            default -> LOG.log(System.Logger.Level.DEBUG, () -> "connector " + name + ": unknown verb " + m.verb);
        }
    }

    private Operation passiveFrom(final String key, final String sender)
    {
        final Operation op = passive.get(key);
        if (null == op || (null != op.peer() && !op.peer().equals(sender)))
        {
            return null;
        }
        return op;
    }

    private void answerHello(final String sender, final ControlMessage m)
    {
        final PoolHandshake theirs;
        try
        {
            // load the sender first, whatever we answer: an answer needs its connection information
            theirs = PoolHandshake.decode(m.body);
            if (!sender.equals(agent.loadRemoteMetadata(theirs.agentMetadata())))
            {
                throw FerryException.invalid("the handshake carries the metadata of another agent");
            }
        }
        catch (final FerryException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "connector " + name + " cannot answer the pool handshake of " +
                sender + ": " + ex.getMessage());
            return;
        }
        BlockPool pool = pools.get(m.key);
        if (null == pool)
        {
            final List<BlockPool> all = List.copyOf(pools.values());
            if (1 != all.size())
            {
                sendControl(sender, ControlMessage.HELLO_REJECT, m.key, "no block pool tagged '" + m.key + "' at " +
                    name + " (it has " + all.stream().map(p -> "'" + p.layout().tag() + "'").toList() + ")");
                return;
            }
            pool = all.getFirst(); // its one pool: the compatibility check names every difference, tag included
        }
        try
        {
            pool.attach(m.body);
            agent.sendNotification(sender, ControlMessage.encode(ControlMessage.HELLO_OK, m.key,
                pool.handshakeBytes()));
        }
        catch (final FerryException ex)
        {
            LOG.log(System.Logger.Level.WARNING, "connector " + name + " refused the pool handshake of " + sender +
                " (" + theirs.layout() + "): " + ex.getMessage());
            pool.refused(sender, ex.getMessage());
            sendControl(sender, ControlMessage.HELLO_REJECT, m.key, ex.getMessage());
        }
    }

    private final class PeerLossObserver implements AgentObserver
    {
        public void onPeerLost(final String agentName, final String peer, final String reason)
        {
            lostPeers.add(new String[] {peer, reason});
            inbox.peerLost(peer, reason);
        }
    }

    /**
     * Stops the dispatcher, ends every passive operation (ERRORED) and lease (CANCELLED), and closes the agent.
     * Idempotent.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        inbox.close();
        try
        {
            dispatcher.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        for (final Operation op : List.copyOf(passive.values()))
        {
            op.fail(new FerryException(ErrorCode.CANCELED, op + ": connector " + name + " closed"));
        }
        for (final BlockLease l : leases.takeAll())
        {
            l.pool().leaseEnded(l, BlockLease.State.CANCELLED, "connector " + name + " closed");
        }
        for (final BlockPool p : List.copyOf(pools.values()))
        {
            p.close();
        }
        agent.close();
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Connector{" + name + "}";
    }
}
