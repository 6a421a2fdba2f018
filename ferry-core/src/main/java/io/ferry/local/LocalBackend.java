package io.ferry.local;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.TransferOp;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.RegionSpec;
import io.ferry.spi.RemoteRegionSpec;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Copies between DRAM regions of agents in this JVM. A post runs on the caller's thread and completes before it
 * returns; it allocates nothing per descriptor.
 * <p>
 * Connection info is {@code "ferry-local/1 <jvm-id> <backend-id>"}: a peer in another JVM is reported unreachable,
 * so its agent falls back to a backend that reaches it. Regions are found by their access key and must match the
 * published span, so a peer reaches only what was registered and published.
 */
final class LocalBackend implements Backend
{
    private static final String INFO_PREFIX = "ferry-local/1 ";
    private static final System.Logger LOG = System.getLogger(LocalBackend.class.getName());
    private static final Object RUNNING = new Object();

    private final BackendContext context;
    private final long id;
    private final ConcurrentHashMap<Long, LocalMemory> byKey = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LocalBackend> peers = new ConcurrentHashMap<>();
    private final ExecutorService copyThreads;
    private final List<Thread> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    LocalBackend(final BackendContext context, final int threads)
    {
        this.context = context;
        this.id = LocalDirectory.add(this);
        if (threads > 0)
        {
            final AtomicInteger n = new AtomicInteger();
            copyThreads = Executors.newFixedThreadPool(threads, r ->
            {
                final Thread t = new Thread(r, "ferry-local-" + context.agentName() + "-" + n.incrementAndGet());
                t.setDaemon(true);
                workers.add(t);
                return t;
            });
        }
        else
        {
            copyThreads = null;
        }
    }

    String agentName()
    {
        return context.agentName();
    }

    public String name()
    {
        return LocalBackendProvider.NAME;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.DRAM);
    }

    public boolean supportsRemote()
    {
        return true;
    }

    public boolean supportsLocal()
    {
        return true;
    }

    public boolean supportsNotifications()
    {
        return true;
    }

    public MemoryHandle register(final RegionSpec region)
    {
        final MemorySegment segment = region.dramSegment(name());
        final LocalMemory memory = new LocalMemory(this, region.accessKey(), segment, region.address(),
            region.length());
        if (null != byKey.putIfAbsent(region.accessKey(), memory))
        {
            throw new FerryException(ErrorCode.BACKEND, "access key collision registering " + memory);
        }
        return memory;
    }

    public void deregister(final MemoryHandle handle)
    {
        final LocalMemory memory = (LocalMemory)handle;
        memory.live = false;
        byKey.remove(memory.accessKey, memory);
    }

    public byte[] connectionInfo()
    {
        return (INFO_PREFIX + LocalDirectory.JVM_ID + " " + id).getBytes(StandardCharsets.US_ASCII);
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        final String text = new String(info, StandardCharsets.US_ASCII);
        final String[] parts = text.startsWith(INFO_PREFIX) ? text.substring(INFO_PREFIX.length()).split(" ") :
            new String[0];
        final long peerId;
        try
        {
            peerId = 2 == parts.length ? Long.parseLong(parts[1]) : -1;
        }
        catch (final NumberFormatException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "LOCAL connection info of peer '" + peer + "' is malformed");
        }
        if (peerId < 0)
        {
            throw new FerryException(ErrorCode.MISMATCH, "LOCAL connection info of peer '" + peer + "' is malformed");
        }
        if (!LocalDirectory.JVM_ID.equals(parts[0]))
        {
            return false;
        }
        final LocalBackend target = LocalDirectory.get(peerId);
        if (null == target || target.closed)
        {
            return false;
        }
        peers.put(peer, target);
        return true;
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        return new byte[0];
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        final LocalBackend target = peers.get(region.peer());
        if (null == target)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "LOCAL has no connection info of peer '" + region.peer() +
                "'");
        }
        final LocalMemory memory = target.byKey.get(region.accessKey());
        if (null == memory || !memory.live || memory.address != region.address() ||
            memory.length != region.length())
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "peer '" + region.peer() + "' has no live DRAM region [0x" +
                Long.toHexString(region.address()) + ", " + region.length() + " B] with the published key " +
                "(stale metadata?)");
        }
        return memory;
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        return handle;
    }

    public void connect(final String peer)
    {
        final LocalBackend target = peers.get(peer);
        if (null == target || target.closed)
        {
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + peer + "' is not running in this JVM");
        }
    }

    public void disconnect(final String peer)
    {
        peers.remove(peer);
    }

    public BackendRequest prepare(
        final TransferOp op,
        final ResolvedDescs local,
        final ResolvedDescs remote,
        final String peer,
        final TransferSink sink)
    {
        final LocalBackend target = context.agentName().equals(peer) ? this : peers.get(peer);
        if (null == target)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "LOCAL cannot reach peer '" + peer + "'");
        }
        final Set<LocalMemory> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        LocalMemory prev = null;
        for (int i = 0; i < remote.count(); i++)
        {
            final LocalMemory m = (LocalMemory)remote.handle(i);
            if (m != prev)
            {
                distinct.add(m);
                prev = m;
            }
        }
        return new LocalRequest(op, local, remote, peer, target, distinct.toArray(new LocalMemory[0]), sink);
    }

    public void post(final BackendRequest request, final byte[] notification)
    {
        final LocalRequest req = (LocalRequest)request;
        if (closed)
        {
            throw new FerryException(ErrorCode.CANCELED, "LOCAL backend of agent '" + agentName() + "' is closed");
        }
        final LocalBackend target = req.target;
        if (target.closed)
        {
            // the agent drops the peer for any transfer that fails with REMOTE_DISCONNECT
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + req.peer + "' was closed");
        }
        for (final LocalMemory m : req.targetRegions)
        {
            if (!m.live)
            {
                throw new FerryException(ErrorCode.NOT_FOUND, m + " was deregistered after this transfer was made");
            }
        }
        if (null == copyThreads)
        {
            copy(req);
            finish(req, notification);
            return;
        }
        final QueuedCopy task = new QueuedCopy(req, notification);
        req.pending.set(task);
        try
        {
            copyThreads.execute(task);
        }
        catch (final RejectedExecutionException ex)
        {
            req.pending.set(null);
            throw new FerryException(ErrorCode.CANCELED, "LOCAL backend of agent '" + agentName() + "' is closed");
        }
    }

    private void runQueued(final QueuedCopy task)
    {
        final LocalRequest req = task.request;
        final byte[] notification = task.notification;
        if (!req.pending.compareAndSet(task, RUNNING))
        {
            return; // aborted before it started
        }
        try
        {
            copy(req);
            finish(req, notification);
        }
        catch (final FerryException ex)
        {
            req.sink.onFailure(ex);
        }
        catch (final RuntimeException ex)
        {
            req.sink.onFailure(new FerryException(ErrorCode.BACKEND, "LOCAL copy failed: " + ex, ex));
        }
        finally
        {
            req.pending.set(null);
        }
    }

    private void finish(final LocalRequest req, final byte[] notification)
    {
        if (null != notification)
        {
            req.target.context.deliverNotification(agentName(), notification.clone());
        }
        req.sink.onComplete();
    }

    private static void copy(final LocalRequest req)
    {
        final ResolvedDescs local = req.local;
        final ResolvedDescs remote = req.remote;
        final boolean write = TransferOp.WRITE == req.op;
        final int n = local.count();
        int i = 0;
        try
        {
            for (; i < n; i++)
            {
                final LocalMemory l = (LocalMemory)local.handle(i);
                final LocalMemory r = (LocalMemory)remote.handle(i);
                if (write)
                {
                    MemorySegment.copy(l.segment, local.offset(i), r.segment, remote.offset(i), local.length(i));
                }
                else
                {
                    MemorySegment.copy(r.segment, remote.offset(i), l.segment, local.offset(i), local.length(i));
                }
            }
        }
        catch (final IllegalStateException ex)
        {
            throw new FerryException(ErrorCode.BACKEND, "span " + i + ": the memory of " + local.handle(i) + " or " +
                remote.handle(i) + " was freed (its arena is closed) while registered", ex);
        }
        catch (final IndexOutOfBoundsException ex)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "span " + i + " lies outside its region", ex);
        }
    }

    public boolean abort(final BackendRequest request)
    {
        final LocalRequest req = (LocalRequest)request;
        final Object state = req.pending.get();
        return null == state || (RUNNING != state && req.pending.compareAndSet(state, null));
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        final LocalBackend target = context.agentName().equals(peer) ? this : peers.get(peer);
        if (null == target)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "LOCAL cannot reach peer '" + peer + "'");
        }
        if (target.closed)
        {
            context.peerDisconnected(peer, "its agent was closed");
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + peer + "' was closed");
        }
        target.context.deliverNotification(agentName(), payload);
    }

    public void close()
    {
        closed = true;
        if (null != copyThreads)
        {
            final List<Runnable> neverRun = copyThreads.shutdownNow();
            for (final Runnable r : neverRun)
            {
                final QueuedCopy task = (QueuedCopy)r;
                if (task.request.pending.compareAndSet(task, null))
                {
                    task.request.sink.onFailure(new FerryException(ErrorCode.CANCELED, "LOCAL backend of agent '" +
                        agentName() + "' was closed before the copy started"));
                }
            }
            try
            {
                if (!copyThreads.awaitTermination(context.defaultTimeout().toMillis(), TimeUnit.MILLISECONDS))
                {
                    LOG.log(System.Logger.Level.WARNING, "LOCAL copy threads of agent " + agentName() +
                        " did not stop within " + context.defaultTimeout());
                }
                // a pool reports termination just before its last worker thread has ended: wait for the threads
                for (final Thread t : workers)
                {
                    t.join(context.defaultTimeout().toMillis());
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        LocalDirectory.remove(id);
        for (final LocalMemory m : byKey.values())
        {
            m.live = false;
        }
        byKey.clear();
        peers.clear();
    }

    /** A post waiting for a copy thread. */
    private final class QueuedCopy implements Runnable
    {
        final LocalRequest request;
        final byte[] notification;

        QueuedCopy(final LocalRequest request, final byte[] notification)
        {
            this.request = request;
            this.notification = notification;
        }

        public void run()
        {
            runQueued(this);
        }
    }
}
