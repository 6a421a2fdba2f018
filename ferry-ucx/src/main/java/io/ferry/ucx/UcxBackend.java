package io.ferry.ucx;

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

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The UCX backend (see the package documentation): one UCP context and worker per agent, owned by one thread
 * ({@link UcxWorker}); this class checks what callers give it and hands the UCX work to that thread.
 */
final class UcxBackend implements Backend
{
    private final BackendContext context;
    private final UcxConfig config;
    private final UcxWorker worker;
    private final byte[] connectionInfo;
    private final Map<String, UcxPeer> peers = new ConcurrentHashMap<>();
    private volatile boolean closed;

    UcxBackend(final BackendContext context, final UcxConfig config)
    {
        this.context = context;
        this.config = config;
        this.worker = new UcxWorker(context.agentName(), config, new UcxWorker.Inbound()
        {
            public void notification(final String sender, final byte[] payload)
            {
                context.deliverNotification(sender, payload);
            }

            public void endpointFailed(final UcxPeer peer, final String reason)
            {
                if (peers.remove(peer.name, peer))
                {
                    context.peerDisconnected(peer.name, "UCX: " + reason);
                }
            }
        });
        this.connectionInfo = UcxWire.connectionInfo(worker.address());
    }

    public String name()
    {
        return UcxBackendProvider.NAME;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.DRAM, MemoryKind.VRAM);
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

    // ------------------------------------------------------------------------------------------ registration

    public MemoryHandle register(final RegionSpec region)
    {
        checkOpen();
        final long address;
        final boolean cuda;
        if (MemoryKind.DRAM == region.kind())
        {
            address = region.dramSegment(name()).address();
            cuda = false;
        }
        else if (MemoryKind.VRAM == region.kind())
        {
            if (!worker.cudaAware())
            {
                throw new FerryException(ErrorCode.NOT_SUPPORTED, "UCX " + Ucp.version() + " on this host is not " +
                    "CUDA-aware (no cuda memory type in its context), so it cannot register VRAM; use a UCX built " +
                    "with CUDA, or the CUDA backend");
            }
            address = region.address();
            cuda = true;
        }
        else
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "UCX does not move " + region.kind() + " memory");
        }
        return worker.call("registering " + region.length() + " bytes at 0x" + Long.toHexString(address),
            () -> worker.map(address, region.length(), cuda));
    }

    public void deregister(final MemoryHandle handle)
    {
        if (closed)
        {
            return;
        }
        final UcxLocalRegion r = local(handle);
        worker.call("deregistering " + r, () ->
        {
            worker.unmap(r);
            return null;
        });
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        return UcxWire.publicData(local(handle).rkey);
    }

    // ------------------------------------------------------------------------------------------ peers

    public byte[] connectionInfo()
    {
        return connectionInfo.clone();
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        checkOpen();
        final byte[] address = UcxWire.workerAddress(peer, info);
        final UcxPeer known = peers.get(peer);
        if (null != known && java.util.Arrays.equals(known.workerAddress, address))
        {
            return true;
        }
        final UcxPeer fresh = worker.newPeer(peer, address);
        final UcxPeer old = peers.put(peer, fresh);
        if (null != old)
        {
            drop(old, "was loaded again with another UCX address");
        }
        return true;
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        final UcxPeer peer = peers.get(region.peer());
        if (null == peer)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "UCX has no connection info of peer '" + region.peer() +
                "'");
        }
        if (MemoryKind.DRAM != region.kind() && MemoryKind.VRAM != region.kind())
        {
            return null;
        }
        return new UcxRemoteRegion(peer, region.address(), region.length(),
            UcxWire.rkey(region.peer(), region.address(), region.publicData()));
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        return null;
    }

    public void connect(final String peer)
    {
        final UcxPeer p = peer(peer);
        worker.call("connecting to peer '" + peer + "'", () -> worker.endpoint(p));
    }

    public void disconnect(final String peer)
    {
        final UcxPeer p = peers.remove(peer);
        if (null != p)
        {
            drop(p, "was disconnected");
        }
    }

    private void drop(final UcxPeer peer, final String reason)
    {
        if (!closed)
        {
            try
            {
                worker.execute(() -> worker.dropPeer(peer, reason));
            }
            catch (final FerryException ignore)
            {
                // closing: the worker closes every endpoint itself
            }
        }
    }

    // ------------------------------------------------------------------------------------------ transfers

    public BackendRequest prepare(final TransferOp op, final ResolvedDescs local, final ResolvedDescs remote,
        final String peer, final TransferSink sink)
    {
        checkOpen();
        final UcxPeer p = peer(peer);
        final int n = local.count();
        if (n != remote.count())
        {
            throw FerryException.invalid("UCX: local and remote lists have " + n + " and " + remote.count() +
                " spans");
        }
        final UcxRequest r = new UcxRequest(op, p, sink, n);
        for (int i = 0; i < n; i++)
        {
            final UcxLocalRegion l = local(local.handle(i));
            if (!(remote.handle(i) instanceof UcxRemoteRegion rr) || rr.peer != p)
            {
                throw FerryException.invalid("UCX: remote span " + i + " is not a region of peer '" + peer +
                    "' as loaded now");
            }
            if (local.length(i) != remote.length(i))
            {
                throw FerryException.invalid("UCX: span " + i + " is " + local.length(i) + " bytes here and " +
                    remote.length(i) + " at the peer");
            }
            r.localRegions[i] = l;
            r.localAddresses[i] = l.address + local.offset(i);
            r.remoteRegions[i] = rr;
            r.remoteAddresses[i] = rr.address + remote.offset(i);
            r.lengths[i] = local.length(i);
        }
        return r;
    }

    public void post(final BackendRequest request, final byte[] notification)
    {
        if (!(request instanceof UcxRequest r))
        {
            throw FerryException.invalid("not a UCX request: " + request);
        }
        checkNotification(notification);
        worker.execute(() -> worker.start(r, notification));
    }

    public boolean abort(final BackendRequest request)
    {
        return false;
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        checkNotification(payload);
        final UcxPeer p = peer(peer);
        worker.execute(() -> worker.sendNotification(p, payload));
    }

    private void checkNotification(final byte[] payload)
    {
        if (null != payload && payload.length > config.maxNotificationBytes())
        {
            throw FerryException.invalid("notification of " + payload.length + " bytes exceeds the UCX backend's " +
                "max_notification_bytes=" + config.maxNotificationBytes());
        }
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        worker.close();
        peers.clear();
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "UCX backend of agent '" + context.agentName() +
                "' is closed");
        }
    }

    private UcxPeer peer(final String peer)
    {
        final UcxPeer p = peers.get(peer);
        if (null == p)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "UCX backend of agent '" + context.agentName() +
                "' has no connection info of peer '" + peer + "'");
        }
        return p;
    }

    private static UcxLocalRegion local(final MemoryHandle handle)
    {
        if (handle instanceof UcxLocalRegion r)
        {
            return r;
        }
        throw FerryException.invalid("not a UCX registration: " + handle);
    }
}
