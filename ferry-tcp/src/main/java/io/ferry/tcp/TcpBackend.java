package io.ferry.tcp;

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

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The TCP backend of one agent: a listener serving peers' READs and WRITEs into this agent's registered regions,
 * and a {@link PeerLink} per peer for transfers this agent initiates.
 * <p>
 * Threads (all stopped by {@link #close()}): one acceptor, one per inbound connection, two per outbound path
 * (sender, receiver), one watchdog.
 */
final class TcpBackend implements Backend
{
    private static final System.Logger LOG = System.getLogger(TcpBackend.class.getName());

    final BackendContext context;
    final TcpConfig config;
    final Watchdog watchdog;
    /** Host access to VRAM (ferry-cuda on the class path and a GPU here), or null: then DRAM only. */
    final io.ferry.spi.DeviceMemory deviceMemory = io.ferry.spi.DeviceMemory.find(MemoryKind.VRAM);
    private final ServerSocketChannel server;
    private final byte[] connectionInfo;
    private final Thread acceptor;
    private final Thread watchdogThread;
    private final ConcurrentHashMap<String, PeerLink> links = new ConcurrentHashMap<>();
    private final Set<InboundConnection> inbound = Collections.synchronizedSet(
        Collections.newSetFromMap(new IdentityHashMap<>()));
    private final List<Thread> inboundThreads = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger inboundCount = new AtomicInteger();
    /** Refusals of strangers' connections and requests are logged at most 10 a second. */
    final io.ferry.internal.LogThrottle refusalLog = new io.ferry.internal.LogThrottle(10, 1_000_000_000L);
    /** Inbound connections that have not passed their handshake yet (capped by max_unauthenticated_connections). */
    private final AtomicInteger unauthenticated = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong refusedAtAccept = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.HashMap<String, Integer> openFromPeer = new java.util.HashMap<>();
    private final Object regionLock = new Object();
    private volatile RegionTable regions = RegionTable.empty();
    private volatile boolean closing;

    TcpBackend(final BackendContext context, final TcpConfig config)
    {
        this.context = context;
        this.config = config;
        try
        {
            server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(new InetSocketAddress(config.listenAddress(), config.listenPort()), 256);
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new FerryException(ErrorCode.BACKEND, "TCP backend of agent '" + context.agentName() +
                "' cannot listen on " + config.listenAddress() + ":" + config.listenPort() + ": " + ex.getMessage(), ex);
        }
        final int port = ((InetSocketAddress)localAddressOf(server)).getPort();
        connectionInfo = Endpoints.encode(Endpoints.advertised(config, port));
        watchdog = new Watchdog(this::checkLinks, 5);
        watchdogThread = daemon(watchdog, threadPrefix() + "-watchdog");
        watchdogThread.start();
        acceptor = daemon(this::acceptLoop, threadPrefix() + "-accept");
        acceptor.start();
    }

    private static java.net.SocketAddress localAddressOf(final ServerSocketChannel ch)
    {
        try
        {
            return ch.getLocalAddress();
        }
        catch (final IOException ex)
        {
            throw new FerryException(ErrorCode.BACKEND, "TCP listener has no address: " + ex.getMessage(), ex);
        }
    }

    String agentName()
    {
        return context.agentName();
    }

    private final java.util.concurrent.atomic.AtomicBoolean kernelCcWarned = new java.util.concurrent.atomic.AtomicBoolean();

    /** Applies {@code kernel_congestion_control} to a socket; says once, loudly, when it cannot. */
    void tune(final SocketChannel ch)
    {
        if (config.kernelCongestionControl().isEmpty())
        {
            return;
        }
        final String why = KernelCongestionControl.apply(ch, config.kernelCongestionControl());
        if (null != why && kernelCcWarned.compareAndSet(false, true))
        {
            LOG.log(System.Logger.Level.WARNING, "TCP agent " + agentName() + ": kernel_congestion_control=" +
                config.kernelCongestionControl() + " is not applied, the sockets keep the system default: " + why);
        }
    }

    String threadPrefix()
    {
        return "ferry-tcp-" + context.agentName();
    }

    boolean closing()
    {
        return closing;
    }

    RegionTable regions()
    {
        return regions;
    }

    PeerLink link(final String peer)
    {
        return links.get(peer);
    }

    /**
     * @return a daemon thread whose unexpected failure (an {@link Error} such as OutOfMemoryError included) goes to
     * this backend's log, not to stderr.
     */
    static Thread daemon(final Runnable task, final String name)
    {
        final Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.setUncaughtExceptionHandler((thread, ex) -> LOG.log(System.Logger.Level.ERROR, "TCP thread " +
            thread.getName() + " ended by " + ex, ex));
        return t;
    }

    private void acceptLoop()
    {
        while (!closing)
        {
            final SocketChannel ch;
            try
            {
                ch = server.accept();
            }
            catch (final ClosedChannelException ex)
            {
                return;
            }
            catch (final IOException ex)
            {
                if (!closing)
                {
                    LOG.log(System.Logger.Level.WARNING, "TCP agent " + agentName() + ": accept failed: " + ex);
                }
                continue;
            }
            if (unauthenticated.incrementAndGet() > config.maxUnauthenticatedConnections())
            {
                // a flood of connections that do not finish their handshake costs one fd for a moment, no thread
                unauthenticated.decrementAndGet();
                BlockingSocketIo.closeQuietly(ch);
                if (0 == (refusedAtAccept.getAndIncrement() & 1023))
                {
                    LOG.log(System.Logger.Level.WARNING, "TCP agent " + agentName() + ": " +
                        config.maxUnauthenticatedConnections() + " connections are in their handshake " +
                        "(max_unauthenticated_connections); closing new ones at accept (" + refusedAtAccept.get() +
                        " so far)");
                }
                continue;
            }
            try
            {
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                tune(ch);
                final String remote = String.valueOf(ch.getRemoteAddress());
                final InboundConnection conn = new InboundConnection(this, ch, remote);
                final Thread t = daemon(conn, threadPrefix() + "-in-" + inboundCount.incrementAndGet());
                inbound.add(conn);
                inboundThreads.add(t);
                if (closing)
                {
                    conn.close();
                }
                t.start();
            }
            catch (final IOException ex)
            {
                unauthenticated.decrementAndGet();
                BlockingSocketIo.closeQuietly(ch);
            }
        }
    }

    /** Each initiator path's current connection, by {@link InboundConnection#pathKey()}. */
    private final ConcurrentHashMap<String, InboundConnection> pathConnections = new ConcurrentHashMap<>();
    /** Notification ids delivered lately, per initiator, so that one resent on another path is delivered once. */
    private final java.util.Map<String, Boolean> delivered = new java.util.LinkedHashMap<>(1024, 0.75f, false)
    {
        protected boolean removeEldestEntry(final java.util.Map.Entry<String, Boolean> eldest)
        {
            return size() > 65536;
        }
    };

    /** A connection passed its handshake: it is its initiator's path now, and an older one of that path is fenced. */
    void pathConnected(final InboundConnection conn)
    {
        final InboundConnection old = pathConnections.put(conn.pathKey(), conn);
        // only connections that carry a generation (ferry's initiators) supersede one another: a live initiator never
        // holds two connections of one path index, so the older one is abandoned
        if (null != old && old != conn && old.generation() > 0 && conn.generation() > 0)
        {
            old.fence();
        }
    }

    void pathEnded(final InboundConnection conn)
    {
        pathConnections.remove(conn.pathKey(), conn);
    }

    /**
     * An initiator abandoned its path {@code path} of generation {@code generation}: that connection, if it is still
     * the path's, is fenced (it applies nothing more once this returns).
     */
    void fence(final InboundConnection from, final String initiator, final int path, final int generation)
    {
        final String key = initiator + '\0' + path;
        final InboundConnection conn = pathConnections.get(key);
        if (null != conn && conn != from && conn.generation() == generation && pathConnections.remove(key, conn))
        {
            conn.fence();
        }
    }

    /** @return true the first time notification {@code id} from {@code initiator} is seen lately. */
    boolean firstDelivery(final String initiator, final long id)
    {
        synchronized (delivered)
        {
            return null == delivered.put(initiator + '\0' + id, Boolean.TRUE);
        }
    }

    /**
     * An inbound connection passed its handshake as coming from {@code initiator}: it no longer counts as
     * unauthenticated, and counts as the peer's unless the peer holds {@code max_connections_per_peer} already.
     *
     * @return null when admitted, else why not (the connection is then refused).
     */
    String inboundAuthenticated(final InboundConnection conn, final String initiator)
    {
        conn.markAuthenticated();
        unauthenticated.decrementAndGet();
        synchronized (openFromPeer)
        {
            final int open = openFromPeer.getOrDefault(initiator, 0);
            if (open >= config.maxConnectionsPerPeer())
            {
                return "peer '" + initiator + "' holds " + open + " connections already (max_connections_per_peer)";
            }
            openFromPeer.put(initiator, open + 1);
            return null;
        }
    }

    /**
     * An inbound connection ended; {@code initiator} is null when it never authenticated. When the last one from
     * a peer ends (and this backend is not closing) the agent hears that the peer's connections are lost.
     */
    void inboundClosed(final InboundConnection conn, final String initiator, final String reason)
    {
        inbound.remove(conn);
        inboundThreads.remove(Thread.currentThread());
        if (!conn.authenticated())
        {
            unauthenticated.decrementAndGet();
        }
        if (null == initiator)
        {
            return;
        }
        final boolean last;
        synchronized (openFromPeer)
        {
            last = null == openFromPeer.computeIfPresent(initiator, (k, n) -> n > 1 ? n - 1 : null);
        }
        if (last && !closing)
        {
            context.peerConnectionsLost(initiator, reason);
        }
    }

    private int checkLinks(final long nowNs)
    {
        int n = 0;
        for (final PeerLink link : links.values())
        {
            n += link.checkTimeouts(nowNs);
        }
        return n;
    }

    void linkFailed(final PeerLink link, final String reason)
    {
        links.remove(link.peer, link);
        context.peerDisconnected(link.peer, reason);
    }

    public String name()
    {
        return TcpBackendProvider.NAME;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return null == deviceMemory ? Set.of(MemoryKind.DRAM) : Set.of(MemoryKind.DRAM, MemoryKind.VRAM);
    }

    public boolean supportsRemote()
    {
        return true;
    }

    public boolean supportsLocal()
    {
        return false;
    }

    public boolean supportsNotifications()
    {
        return true;
    }

    public MemoryHandle register(final RegionSpec spec)
    {
        final TcpRegion region;
        if (MemoryKind.VRAM == spec.kind() && null != deviceMemory)
        {
            deviceMemory.checkRegion(spec.address(), spec.length(), spec.deviceId());
            region = new TcpRegion(spec.accessKey(), spec.address(), spec.length(), spec.deviceId());
        }
        else
        {
            region = new TcpRegion(spec.accessKey(), spec.address(), spec.length(), spec.dramSegment(name()));
        }
        synchronized (regionLock)
        {
            if (null != regions.get(spec.accessKey()))
            {
                throw new FerryException(ErrorCode.BACKEND, "access key collision registering " + region);
            }
            regions = regions.with(region);
        }
        return region;
    }

    public void deregister(final MemoryHandle handle)
    {
        final TcpRegion region = (TcpRegion)handle;
        region.live = false;
        synchronized (regionLock)
        {
            regions = regions.without(region);
        }
    }

    public byte[] connectionInfo()
    {
        return connectionInfo.clone();
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        final Endpoints.Info endpoints = Endpoints.decode(peer, info);
        if (endpoints.usable().isEmpty())
        {
            return false;
        }
        final PeerLink old = links.put(peer, new PeerLink(this, peer, endpoints));
        if (null != old)
        {
            old.close(ErrorCode.CANCELED, "peer '" + peer + "' was loaded again");
        }
        return true;
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        return new byte[0];
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        return new TcpRemoteRegion(region.peer(), region.accessKey(), region.address(), region.length(),
            MemoryKind.VRAM == region.kind());
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        throw new FerryException(ErrorCode.NOT_SUPPORTED, "TCP does not serve transfers of an agent to itself");
    }

    public void connect(final String peer)
    {
        requireLink(peer).ensureConnected();
    }

    public void disconnect(final String peer)
    {
        final PeerLink link = links.remove(peer);
        if (null != link)
        {
            link.close(ErrorCode.CANCELED, "peer '" + peer + "' was invalidated");
        }
    }

    public BackendRequest prepare(
        final TransferOp op,
        final ResolvedDescs local,
        final ResolvedDescs remote,
        final String peer,
        final TransferSink sink)
    {
        requireLink(peer);
        boolean vram = false;
        for (int i = 0; i < local.count() && !vram; i++)
        {
            vram = ((TcpRegion)local.handle(i)).device >= 0 || ((TcpRemoteRegion)remote.handle(i)).vram();
        }
        final int chunk = config.chunkSizeFor(local.totalBytes(), vram);
        final int tailChunk = config.tailChunkFor(chunk, vram);
        final TcpRequest r = new TcpRequest(op, local, remote, peer, sink, chunk,
            config.tailBytesFor(local.totalBytes(), chunk, tailChunk), tailChunk, config.maxSpansPerChunk());
        r.onePath = TransferOp.READ == op && config.lessThanOneChunkPerPath(local.totalBytes(), vram);
        return r;
    }

    /**
     * Cuts a request again so that its chunks fit a peer's announced limits: no more spans a chunk than the peer
     * takes, and frames (a READ's reply included) within its {@code max_frame_bytes}.
     */
    void fitToPeer(final TcpRequest r, final Handshake.Limits limits)
    {
        final int spans = Math.min(config.maxSpansPerChunk(), limits.maxSpans());
        final long writeRoom = limits.maxFrameBytes() - (Frames.chunkPrefix(spans) - Frames.HEADER_LENGTH);
        final long readRoom = limits.maxFrameBytes() - Frames.REPLY_FIXED;
        final long room = (Math.min(writeRoom, readRoom) & -4096L);
        final int chunk = (int)Math.max(4096, Math.min(r.chunkSize, room));
        final int tailChunk = Math.min(chunk, config.tailChunkFor(chunk, false));
        r.cut(chunk, config.tailBytesFor(r.totalBytes, chunk, tailChunk), tailChunk, spans);
    }

    public void post(final BackendRequest request, final byte[] notification)
    {
        final TcpRequest r = (TcpRequest)request;
        if (closing)
        {
            throw new FerryException(ErrorCode.CANCELED, "TCP backend of agent '" + agentName() + "' is closed");
        }
        final PeerLink link = requireLink(r.peer);
        link.ensureConnected();
        link.submit(r, notification);
    }

    public boolean abort(final BackendRequest request)
    {
        final TcpRequest r = (TcpRequest)request;
        final PeerLink link = links.get(r.peer);
        return null == link || link.abort(r);
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        final PeerLink link = requireLink(peer);
        link.ensureConnected();
        link.sendStandalone(payload);
    }

    public java.util.List<io.ferry.PathStats> pathStats()
    {
        final java.util.List<io.ferry.PathStats> all = new ArrayList<>();
        for (final PeerLink link : links.values())
        {
            all.addAll(link.stats());
        }
        return all;
    }

    private PeerLink requireLink(final String peer)
    {
        final PeerLink link = links.get(peer);
        if (null == link)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "TCP of agent '" + agentName() + "' has no connection info " +
                "of peer '" + peer + "'");
        }
        return link;
    }

    public void close()
    {
        if (closing)
        {
            return;
        }
        closing = true;
        BlockingSocketIo.closeQuietly(server);
        for (final PeerLink link : links.values())
        {
            link.close(ErrorCode.CANCELED, "agent '" + agentName() + "' is closing");
        }
        links.clear();
        final List<InboundConnection> conns;
        synchronized (inbound)
        {
            conns = new ArrayList<>(inbound);
        }
        conns.forEach(InboundConnection::close);
        watchdog.stop();
        watchdogThread.interrupt();
        try
        {
            acceptor.join(5000);
            watchdogThread.join(5000);
            final List<Thread> threads;
            synchronized (inboundThreads)
            {
                threads = new ArrayList<>(inboundThreads);
            }
            for (final Thread t : threads)
            {
                t.join(5000);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        for (final TcpRegion r : regions.entries())
        {
            r.live = false;
        }
        regions = RegionTable.empty();
    }
}
