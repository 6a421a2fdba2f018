package io.ferry.shm;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.TransferOp;
import io.ferry.internal.LogThrottle;
import io.ferry.samehost.HostIdentity;
import io.ferry.internal.Posix;
import io.ferry.samehost.SameHostChannel;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.RegionSpec;
import io.ferry.spi.RemoteRegionSpec;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The SHM backend (see the package documentation). Threads: the channel's listener and one reader per connection,
 * and {@code copy_threads} copy threads for large requests; all stop on {@link #close()}.
 */
@SuppressWarnings("restricted") // ALL: absolute addresses of mapped peer memory, bounds checked by the agent
final class ShmBackend implements Backend
{
    private static final String INFO_PREFIX = "ferry-shm/1 ";
    private static final byte BY_CROSS_MEMORY = 0;
    private static final byte BY_SHARED_FILE = 1;
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final System.Logger LOG = System.getLogger(ShmBackend.class.getName());
    private static final Map<String, ShmBackend> IN_PROCESS = new ConcurrentHashMap<>();
    private static final LogThrottle REFUSALS = new LogThrottle(3, TimeUnit.MINUTES.toNanos(10));

    private final BackendContext context;
    private final ShmConfig config;
    private final HostIdentity identity = HostIdentity.current();
    private final int pid = (int)ProcessHandle.current().pid();
    private final SameHostChannel channel;
    private final Arena probeArena = Arena.ofShared();
    private final MemorySegment probe;
    private final long probeValue;
    private final ShmPeer self;
    private final Map<String, ShmPeer> peers = new ConcurrentHashMap<>();
    private final Map<Long, List<ShmLocalRegion>> registered = new ConcurrentHashMap<>();
    private final ExecutorService copyThreads;
    private volatile boolean closed;

    ShmBackend(final BackendContext context, final ShmConfig config)
    {
        this.context = context;
        this.config = config;
        this.probeValue = new SecureRandom().nextLong();
        this.probe = probeArena.allocate(8, 8);
        probe.set(ValueLayout.JAVA_LONG, 0, probeValue);
        this.self = new ShmPeer(context.agentName(), null, pid, this, null);
        this.channel = new SameHostChannel(context.agentName(), config.authSecret(), new Listener(),
            config.timeoutMillis(), config.maxConnections(), "shm");
        final String agent = context.agentName();
        this.copyThreads = new ThreadPoolExecutor(config.copyThreads(), config.copyThreads(), 0, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r ->
            {
                final Thread t = new Thread(r, "ferry-shm-copy-" + agent);
                t.setDaemon(true);
                return t;
            });
        ((ThreadPoolExecutor)copyThreads).prestartAllCoreThreads(); // not inside the first large transfer
        IN_PROCESS.put(channel.address(), this);
    }

    public String name()
    {
        return ShmBackendProvider.NAME;
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

    // ------------------------------------------------------------------------------------------ regions

    public MemoryHandle register(final RegionSpec spec)
    {
        checkOpen();
        final MemorySegment segment = spec.dramSegment(name());
        final ShmLocalRegion r = new ShmLocalRegion(spec.address(), spec.length(), spec.accessKey(), segment,
            ShmFile.find(spec.address(), spec.length()));
        registered.computeIfAbsent(spec.address(), a -> new CopyOnWriteArrayList<>()).add(r);
        return r;
    }

    public void deregister(final MemoryHandle handle)
    {
        final ShmLocalRegion r = (ShmLocalRegion)handle;
        r.live = false;
        registered.computeIfPresent(r.address, (a, list) ->
        {
            list.remove(r);
            return list.isEmpty() ? null : list;
        });
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        return new byte[]{null == ((ShmLocalRegion)handle).file ? BY_CROSS_MEMORY : BY_SHARED_FILE};
    }

    private ShmLocalRegion findRegion(final long address, final long length, final long accessKey, final String who)
    {
        final List<ShmLocalRegion> at = registered.get(address);
        if (null != at)
        {
            for (final ShmLocalRegion r : at)
            {
                if (r.length == length && r.live)
                {
                    if (r.accessKey != accessKey)
                    {
                        throw new FerryException(ErrorCode.NOT_ALLOWED, "agent '" + context.agentName() + "' refuses " +
                            who + " its region 0x" + Long.toHexString(address) + ": wrong access key");
                    }
                    return r;
                }
            }
        }
        throw new FerryException(ErrorCode.NOT_FOUND, "agent '" + context.agentName() + "' has no SHM region of " +
            length + " B at 0x" + Long.toHexString(address) + " (deregistered?)");
    }

    // ------------------------------------------------------------------------------------------ peers

    public byte[] connectionInfo()
    {
        return (INFO_PREFIX + identity.bootId() + " " + identity.netNamespace() + " " + identity.pidNamespace() +
            " " + pid + " " + channel.address() + " " + Long.toHexString(probe.address()) + " " +
            Long.toHexString(probeValue)).getBytes(StandardCharsets.UTF_8);
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        checkOpen();
        final String text = new String(info, StandardCharsets.UTF_8);
        final String[] w = text.startsWith(INFO_PREFIX) ? text.substring(INFO_PREFIX.length()).split(" ") :
            new String[0];
        final HostIdentity other;
        final int peerPid;
        final long probeAt;
        final long probeExpected;
        try
        {
            if (7 != w.length)
            {
                throw new IllegalArgumentException("expected 7 words, got " + w.length);
            }
            other = new HostIdentity(w[0], w[1], w[2]);
            peerPid = Integer.parseInt(w[3]);
            probeAt = Long.parseUnsignedLong(w[5], 16);
            probeExpected = Long.parseUnsignedLong(w[6], 16);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "SHM connection info of peer '" + peer + "' is malformed: " +
                LogThrottle.printable(ex.getMessage(), 100));
        }
        final String unreachable = identity.unreachableReason(other);
        if (null != unreachable)
        {
            LOG.log(System.Logger.Level.DEBUG, () -> "SHM of '" + context.agentName() + "' does not reach peer '" +
                peer + "': " + unreachable);
            return false;
        }
        final ShmBackend local = identity.samePidNamespace(other) && peerPid == pid ? IN_PROCESS.get(w[4]) : null;
        String refusal = null;
        if (null == local)
        {
            refusal = identity.samePidNamespace(other) ? CrossMemory.probe(peerPid, probeAt, probeExpected) :
                "it runs in another PID namespace";
            if (null != refusal)
            {
                final long suppressed = REFUSALS.admit(System.nanoTime());
                if (suppressed >= 0)
                {
                    LOG.log(System.Logger.Level.WARNING, "SHM of '" + context.agentName() + "' cannot use " +
                        "cross-memory attach with peer '" + peer + "': " + refusal + "; its memory that is not in a " +
                        "ShmArena goes through the next backend");
                }
            }
        }
        final ShmPeer old = peers.put(peer, new ShmPeer(peer, w[4], peerPid, local, refusal));
        if (null != old)
        {
            old.lose("its connection info was loaded again");
        }
        return true;
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        final ShmPeer p = peers.get(region.peer());
        if (null == p)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "SHM has no connection info of peer '" + region.peer() +
                "'");
        }
        final byte[] pub = region.publicData();
        if (MemoryKind.DRAM != region.kind() || null == pub || 1 != pub.length ||
            (BY_CROSS_MEMORY != pub[0] && BY_SHARED_FILE != pub[0]))
        {
            throw new FerryException(ErrorCode.MISMATCH, "SHM public data of peer '" + region.peer() + "''s " +
                region.kind() + " region at 0x" + Long.toHexString(region.address()) + " is malformed");
        }
        if (null != p.inProcess)
        {
            final ShmLocalRegion target = p.inProcess.findRegion(region.address(), region.length(),
                region.accessKey(), "agent '" + context.agentName() + "'");
            return new ShmPeerRegion(p, region.address(), region.length(), region.accessKey(),
                ShmPeerRegion.Reach.DIRECT, target);
        }
        if (BY_SHARED_FILE == pub[0])
        {
            final ShmPeerRegion r = new ShmPeerRegion(p, region.address(), region.length(), region.accessKey(),
                ShmPeerRegion.Reach.MAPPED, null);
            p.sharedRegions.add(r);
            return r;
        }
        if (null != p.crossMemoryRefusal)
        {
            return null; // out of reach here: the agent moves it with another backend
        }
        return new ShmPeerRegion(p, region.address(), region.length(), region.accessKey(),
            ShmPeerRegion.Reach.CROSS_MEMORY, null);
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        final ShmLocalRegion r = (ShmLocalRegion)handle;
        return new ShmPeerRegion(self, r.address, r.length, r.accessKey, ShmPeerRegion.Reach.DIRECT, r);
    }

    public void connect(final String peer)
    {
        checkOpen();
        final ShmPeer p = peers.get(peer);
        if (null == p)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "SHM has no connection info of peer '" + peer + "'");
        }
        final String lost = p.acquire();
        if (null != lost)
        {
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "SHM lost peer '" + peer + "': " + lost);
        }
        try
        {
            ensureConnected(p);
            for (final ShmPeerRegion r : p.sharedRegions)
            {
                p.ensureMapped(r, channel); // now rather than inside the first transfer
            }
        }
        finally
        {
            p.release();
        }
    }

    private void ensureConnected(final ShmPeer p)
    {
        if (p.self() || 0 != p.verifiedPid && channel.connected(p.name))
        {
            return;
        }
        final int seen = channel.connect(p.name, p.socketAddress);
        if (null == p.inProcess && null == p.crossMemoryRefusal && seen != p.declaredPid)
        {
            channel.forget(p.name);
            throw new FerryException(ErrorCode.NOT_ALLOWED, "the agent listening for '" + p.name + "' is process " +
                seen + ", not the process " + p.declaredPid + " its metadata names");
        }
        p.verifiedPid = seen;
    }

    public void disconnect(final String peer)
    {
        final ShmPeer p = peers.remove(peer);
        if (null != p)
        {
            p.lose("disconnected");
        }
        channel.forget(peer);
    }

    // ------------------------------------------------------------------------------------------ transfers

    public BackendRequest prepare(final TransferOp op, final ResolvedDescs local, final ResolvedDescs remote,
        final String peer, final TransferSink sink)
    {
        checkOpen();
        final ShmPeer p = context.agentName().equals(peer) ? self : peers.get(peer);
        if (null == p)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "SHM cannot reach peer '" + peer + "'");
        }
        final int parts = local.totalBytes() >= config.parallelBytes() ? config.copyThreads() : 1;
        return new ShmRequest(op, p, sink, local, remote, parts, this);
    }

    public void post(final BackendRequest request, final byte[] notification)
    {
        final ShmRequest req = (ShmRequest)request;
        checkOpen();
        final ShmPeer p = req.peer;
        if (p != self && p != peers.get(p.name))
        {
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "SHM lost peer '" + p.name + "' after this " +
                "transfer was made: " + p.lostReason());
        }
        final String lost = p.acquire();
        if (null != lost)
        {
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "SHM lost peer '" + p.name + "': " + lost);
        }
        try
        {
            if (!p.self())
            {
                ensureConnected(p);
            }
            for (final ShmPeerRegion r : req.distinctRemote)
            {
                if (ShmPeerRegion.Reach.MAPPED == r.reach)
                {
                    p.ensureMapped(r, channel);
                }
                else if (ShmPeerRegion.Reach.DIRECT == r.reach && !r.direct.live)
                {
                    throw new FerryException(ErrorCode.NOT_FOUND, r + " was deregistered after this transfer was made");
                }
            }
        }
        catch (final RuntimeException ex)
        {
            p.release();
            throw ex;
        }
        req.notification = notification;
        req.error = null;
        req.inProgress.set(true);
        req.remaining.set(req.parts.length);
        if (1 == req.parts.length)
        {
            runPart(req.parts[0]);
            return;
        }
        for (final ShmRequest.Part part : req.parts)
        {
            try
            {
                copyThreads.execute(part);
            }
            catch (final RejectedExecutionException ex)
            {
                req.error = new FerryException(ErrorCode.CANCELED, "SHM backend of '" + context.agentName() +
                    "' closed");
                partDone(req);
            }
        }
    }

    void runPart(final ShmRequest.Part part)
    {
        final ShmRequest req = part.request;
        try
        {
            copy(part);
        }
        catch (final FerryException ex)
        {
            req.error = ex;
        }
        catch (final IllegalStateException ex)
        {
            req.error = new FerryException(ErrorCode.BACKEND, "SHM transfer to '" + req.peer.name + "': local " +
                "memory was freed while registered (its arena is closed)", ex);
        }
        catch (final RuntimeException ex)
        {
            req.error = new FerryException(ErrorCode.BACKEND, "SHM transfer to '" + req.peer.name + "' failed: " + ex,
                ex);
        }
        partDone(req);
    }

    private void partDone(final ShmRequest req)
    {
        if (0 != req.remaining.decrementAndGet())
        {
            return;
        }
        final ShmPeer p = req.peer;
        p.release();
        FerryException error = req.error;
        if (null == error && !p.self() && null != p.lostReason())
        {
            error = new FerryException(ErrorCode.REMOTE_DISCONNECT, "SHM lost peer '" + p.name + "' during the " +
                "transfer: " + p.lostReason());
        }
        final byte[] notification = req.notification;
        req.notification = null;
        if (null == error && null != notification)
        {
            try
            {
                deliver(p, notification);
            }
            catch (final FerryException ex)
            {
                error = ex;
            }
        }
        else if (null != error && null != notification && !p.self() && null == p.lostReason())
        {
            try
            {
                channel.notifyFailure(p.name, p.socketAddress, notification, error.getMessage());
            }
            catch (final FerryException ex)
            {
                // the peer is unreachable: the failure reaches the initiator alone
            }
        }
        req.inProgress.set(false);
        if (null == error)
        {
            req.sink.onComplete();
        }
        else
        {
            req.sink.onFailure(error);
        }
    }

    private void deliver(final ShmPeer p, final byte[] payload)
    {
        if (p.self())
        {
            context.deliverNotification(context.agentName(), payload.clone());
        }
        else
        {
            channel.notify(p.name, p.socketAddress, payload);
        }
    }

    private static void copy(final ShmRequest.Part part)
    {
        final ShmRequest req = part.request;
        final boolean write = TransferOp.WRITE == req.op;
        int batch = 0;
        for (int i = part.from; i < part.to; i++)
        {
            final ShmPeerRegion r = req.remoteRegion[i];
            final MemorySegment l = req.localRegion[i].segment;
            final long lo = req.localOffset[i];
            final long len = req.length[i];
            switch (r.reach)
            {
                case MAPPED ->
                {
                    if (write)
                    {
                        MemorySegment.copy(l, lo, ALL, r.mappedAddress + req.remoteOffset[i], len);
                    }
                    else
                    {
                        MemorySegment.copy(ALL, r.mappedAddress + req.remoteOffset[i], l, lo, len);
                    }
                }
                case DIRECT ->
                {
                    if (write)
                    {
                        MemorySegment.copy(l, lo, r.direct.segment, req.remoteOffset[i], len);
                    }
                    else
                    {
                        MemorySegment.copy(r.direct.segment, req.remoteOffset[i], l, lo, len);
                    }
                }
                case CROSS_MEMORY ->
                {
                    if (!l.scope().isAlive())
                    {
                        throw new IllegalStateException("freed");
                    }
                    final long iov = (long)batch * Posix.IOVEC_BYTES;
                    part.localIov.set(ValueLayout.JAVA_LONG, iov, l.address() + lo);
                    part.localIov.set(ValueLayout.JAVA_LONG, iov + 8, len);
                    part.remoteIov.set(ValueLayout.JAVA_LONG, iov, r.address + req.remoteOffset[i]);
                    part.remoteIov.set(ValueLayout.JAVA_LONG, iov + 8, len);
                    if (++batch == part.iovCapacity)
                    {
                        crossMemory(part, batch, write);
                        batch = 0;
                    }
                }
            }
        }
        if (batch > 0)
        {
            crossMemory(part, batch, write);
        }
    }

    /**
     * Moves a batch of iovecs, continuing after a partial transfer until every byte moved or the kernel fails.
     */
    private static void crossMemory(final ShmRequest.Part part, final int count, final boolean write)
    {
        final ShmPeer p = part.request.peer;
        int first = 0;
        while (first < count)
        {
            final long offset = (long)first * Posix.IOVEC_BYTES;
            final long rc = Posix.crossMemory(write, p.verifiedPid, part.localIov.asSlice(offset),
                count - first, part.remoteIov.asSlice(offset), count - first, part.capture);
            if (rc <= 0)
            {
                throw crossMemoryError(part, -rc);
            }
            // skip what moved: whole iovecs, then the moved front of a partly moved one (both arrays line up)
            long moved = rc;
            while (moved > 0)
            {
                final long at = (long)first * Posix.IOVEC_BYTES;
                final long len = part.localIov.get(ValueLayout.JAVA_LONG, at + 8);
                if (moved >= len)
                {
                    moved -= len;
                    first++;
                }
                else
                {
                    for (final MemorySegment iov : new MemorySegment[]{part.localIov, part.remoteIov})
                    {
                        iov.set(ValueLayout.JAVA_LONG, at, iov.get(ValueLayout.JAVA_LONG, at) + moved);
                        iov.set(ValueLayout.JAVA_LONG, at + 8, len - moved);
                    }
                    moved = 0;
                }
            }
        }
    }

    private static FerryException crossMemoryError(final ShmRequest.Part part, final long errno)
    {
        final ShmPeer p = part.request.peer;
        final String what = (TransferOp.WRITE == part.request.op ? "process_vm_writev to" : "process_vm_readv of") +
            " peer '" + p.name + "' (process " + p.verifiedPid + ")";
        if (0 == errno)
        {
            return new FerryException(ErrorCode.BACKEND, what + " moved nothing");
        }
        return switch ((int)errno)
        {
            case Posix.ESRCH -> new FerryException(ErrorCode.REMOTE_DISCONNECT, what + ": the process is gone");
            case Posix.EPERM -> new FerryException(ErrorCode.NOT_ALLOWED, what + ": " + Posix.errnoName(Posix.EPERM));
            case Posix.EFAULT -> new FerryException(ErrorCode.BACKEND, what + ": a span is no longer mapped in the " +
                "peer (it freed memory it had registered) or here");
            default -> new FerryException(ErrorCode.BACKEND, what + ": " + Posix.errnoName((int)errno));
        };
    }

    public boolean abort(final BackendRequest request)
    {
        return !((ShmRequest)request).inProgress.get();
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        checkOpen();
        if (context.agentName().equals(peer))
        {
            context.deliverNotification(peer, payload.clone());
            return;
        }
        final ShmPeer p = peers.get(peer);
        if (null == p)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "SHM cannot reach peer '" + peer + "'");
        }
        ensureConnected(p);
        channel.notify(p.name, p.socketAddress, payload);
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.CANCELED, "SHM backend of agent '" + context.agentName() +
                "' is closed");
        }
    }

    /** @return the number of peer memory-file mappings held, for tests. */
    int mappingCount()
    {
        int n = 0;
        for (final ShmPeer p : peers.values())
        {
            n += p.mappingCount();
        }
        return n;
    }

    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        IN_PROCESS.remove(channel.address(), this);
        copyThreads.shutdown();
        try
        {
            if (!copyThreads.awaitTermination(context.defaultTimeout().toMillis(), TimeUnit.MILLISECONDS))
            {
                LOG.log(System.Logger.Level.WARNING, "SHM copies of '" + context.agentName() + "' did not end in " +
                    context.defaultTimeout());
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        channel.close();
        for (final ShmPeer p : peers.values())
        {
            p.lose("agent '" + context.agentName() + "' closed");
        }
        peers.clear();
        probeArena.close();
    }

    /** What arrives on the channel. */
    private final class Listener implements SameHostChannel.Listener
    {
        public void notification(final String sender, final byte[] payload)
        {
            context.deliverNotification(sender, payload);
        }

        public void failureNotification(final String sender, final byte[] payload, final String reason)
        {
            context.deliverFailureNotification(sender, payload, reason);
        }

        public SameHostChannel.Grant grant(final String sender, final long address, final long length,
            final long accessKey)
        {
            final ShmLocalRegion r = findRegion(address, length, accessKey, "'" + sender + "'");
            if (null == r.file)
            {
                throw new FerryException(ErrorCode.NOT_SUPPORTED, r + " is not in shared memory");
            }
            return new SameHostChannel.Grant(r.file.duplicate(), r.address - r.file.address);
        }

        public void initiatorLost(final String sender, final String reason)
        {
            context.peerConnectionsLost(sender, reason);
        }

        public void targetLost(final String peer, final String reason)
        {
            final ShmPeer p = peers.get(peer);
            if (null != p)
            {
                p.lose(reason);
                context.peerDisconnected(peer, "SHM: " + reason);
            }
        }
    }
}
