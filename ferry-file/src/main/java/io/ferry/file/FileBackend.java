package io.ferry.file;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.TransferOp;
import io.ferry.internal.SystemCallException;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.RegionSpec;
import io.ferry.spi.RemoteRegionSpec;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.util.Set;

/**
 * The FILE backend (see the package documentation). Threads: those of its engine; all stop on {@link #close()}.
 */
final class FileBackend implements Backend, IoEngine.Finisher
{
    private static final System.Logger LOG = System.getLogger(FileBackend.class.getName());
    private static volatile String uringRefusal;

    private final BackendContext context;
    private final FileConfig config;
    private final IoEngine engine;
    /** Host access to VRAM (the CUDA backend's staging), or null without a usable GPU. */
    private final io.ferry.spi.DeviceMemory deviceMemory = io.ferry.spi.DeviceMemory.find(MemoryKind.VRAM);
    private volatile boolean closed;

    FileBackend(final BackendContext context, final FileConfig config)
    {
        this.context = context;
        this.config = config;
        IoEngine chosen = null;
        if (!"posix".equals(config.engine()))
        {
            try
            {
                chosen = new UringEngine(config, context.agentName(), this);
            }
            catch (final SystemCallException ex)
            {
                final String why = "io_uring refused: " + ex.getMessage() + " (seccomp, " +
                    "kernel.io_uring_disabled, an old kernel or the locked-memory limit)";
                if ("io_uring".equals(config.engine()))
                {
                    throw new FerryException(ErrorCode.BACKEND, "FILE engine=io_uring: " + why);
                }
                if (null == uringRefusal)
                {
                    LOG.log(System.Logger.Level.WARNING, "FILE backend of '" + context.agentName() + "': " + why +
                        "; it uses POSIX pread/pwrite threads");
                }
                uringRefusal = why;
            }
        }
        engine = null != chosen ? chosen : new PosixEngine(config, context.agentName(), this);
    }

    /** @return why io_uring was refused here, once it was, else null. */
    static String uringRefusal()
    {
        return uringRefusal;
    }

    /** @return the engine's name. */
    String engineName()
    {
        return engine.name();
    }

    public String name()
    {
        return FileBackendProvider.NAME;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return null == deviceMemory ? Set.of(MemoryKind.DRAM, MemoryKind.FILE) :
            Set.of(MemoryKind.DRAM, MemoryKind.FILE, MemoryKind.VRAM);
    }

    public boolean supportsRemote()
    {
        return false;
    }

    public boolean supportsLocal()
    {
        return true;
    }

    public boolean supportsNotifications()
    {
        return true;
    }

    public MemoryHandle register(final RegionSpec spec)
    {
        checkOpen();
        if (MemoryKind.DRAM == spec.kind())
        {
            return new HostMemory(spec.dramSegment(name()));
        }
        if (MemoryKind.VRAM == spec.kind() && null != deviceMemory)
        {
            deviceMemory.checkRegion(spec.address(), spec.length(), spec.deviceId());
            return new DeviceRegion(spec.address(), spec.deviceId());
        }
        if (MemoryKind.FILE != spec.kind())
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "FILE moves DRAM and FILE, not " + spec.kind());
        }
        final FileRegions.Spec what = FileRegions.Spec.decode(spec.metaInfo(), spec.deviceId());
        if (null == what.path() && (spec.deviceId() < 0 || spec.deviceId() > Integer.MAX_VALUE))
        {
            throw FerryException.invalid("FILE region " + spec.deviceId() + " names no file: give FileRegions.of a " +
                "path, or FileRegions.ofDescriptor an open descriptor");
        }
        return FileHandle.open(what, spec.deviceId(), spec.address(),
            MemoryDesc.WHOLE == spec.length() ? -1 : spec.length(), !"never".equals(config.direct()));
    }

    public void deregister(final MemoryHandle handle)
    {
        if (handle instanceof FileHandle f)
        {
            f.deregister();
        }
    }

    public byte[] connectionInfo()
    {
        return null;
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        return false;
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        return null; // files are this agent's own: no peer reaches them through FILE
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        throw new FerryException(ErrorCode.NOT_SUPPORTED, "FILE does not reach other agents");
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        return handle;
    }

    public void connect(final String peer)
    {
    }

    public void disconnect(final String peer)
    {
    }

    public BackendRequest prepare(final TransferOp op, final ResolvedDescs local, final ResolvedDescs remote,
        final String peer, final TransferSink sink)
    {
        checkOpen();
        if (!context.agentName().equals(peer))
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "FILE moves between agent '" + context.agentName() +
                "''s memory and its own files: name the agent itself as the peer, not '" + peer + "'");
        }
        for (int i = 0; i < local.count(); i++)
        {
            if (!(local.handle(i) instanceof HostMemory || local.handle(i) instanceof DeviceRegion) ||
                !(remote.handle(i) instanceof FileHandle))
            {
                throw FerryException.invalid("FILE transfers go between DRAM or VRAM (the local list) and FILE (the " +
                    "remote list); descriptor " + i + " is not");
            }
        }
        return new FileRequest(op, local, remote, sink, config, engine.name());
    }

    public void post(final BackendRequest request, final byte[] notification)
    {
        checkOpen();
        final FileRequest r = (FileRequest)request;
        for (int i = 0; i < r.count; i++)
        {
            if (null != r.memory[i] && !r.memory[i].scope().isAlive())
            {
                throw new FerryException(ErrorCode.BACKEND, "I/O " + i + ": its memory was freed (the arena is " +
                    "closed) while registered");
            }
        }
        int held = 0;
        for (final FileHandle f : r.distinctFiles)
        {
            if (!f.acquire())
            {
                for (int k = 0; k < held; k++)
                {
                    r.distinctFiles[k].release();
                }
                throw new FerryException(ErrorCode.NOT_FOUND, f + " was deregistered after this transfer was made");
            }
            held++;
        }
        r.notification = notification;
        r.error = null;
        r.nextIo.set(0);
        r.remaining.set(r.count);
        r.inProgress.set(true);
        try
        {
            stageIn(r);
            engine.submit(r);
        }
        catch (final RuntimeException ex)
        {
            r.inProgress.set(false);
            closeStaging(r);
            releaseFiles(r);
            throw ex;
        }
    }

    /** VRAM of a post: a pinned buffer for it, filled from the device first for a WRITE. */
    private void stageIn(final FileRequest r)
    {
        if (0 == r.stagingBytes)
        {
            return;
        }
        r.staging = deviceMemory.openStaging(r.stagingBytes);
        if (TransferOp.WRITE == r.op)
        {
            for (int i = 0; i < r.count; i++)
            {
                if (null == r.memory[i])
                {
                    r.staging.toHost(r.device[i], r.deviceAddress[i], r.stagingOffset[i], r.length[i]);
                }
            }
            r.staging.await();
        }
    }

    /** After a READ's I/Os: the staged bytes go to the device; then the buffer is freed. */
    private static void stageOut(final FileRequest r)
    {
        if (null == r.staging)
        {
            return;
        }
        try
        {
            if (TransferOp.READ == r.op && null == r.error)
            {
                for (int i = 0; i < r.count; i++)
                {
                    if (null == r.memory[i])
                    {
                        r.staging.toDevice(r.device[i], r.stagingOffset[i], r.deviceAddress[i], r.length[i]);
                    }
                }
                r.staging.await();
            }
        }
        catch (final FerryException ex)
        {
            r.fail(ex);
        }
        finally
        {
            closeStaging(r);
        }
    }

    private static void closeStaging(final FileRequest r)
    {
        if (null != r.staging)
        {
            r.staging.close();
            r.staging = null;
        }
    }

    public void finished(final FileRequest r)
    {
        stageOut(r);
        releaseFiles(r);
        final FerryException error = r.error;
        final byte[] notification = r.notification;
        r.notification = null;
        r.inProgress.set(false);
        if (null == error)
        {
            if (null != notification)
            {
                context.deliverNotification(context.agentName(), notification.clone());
            }
            r.sink.onComplete();
        }
        else
        {
            if (null != notification)
            {
                context.deliverFailureNotification(context.agentName(), notification.clone(), error.getMessage());
            }
            r.sink.onFailure(error);
        }
    }

    private static void releaseFiles(final FileRequest r)
    {
        for (final FileHandle f : r.distinctFiles)
        {
            f.release();
        }
    }

    public boolean abort(final BackendRequest request)
    {
        return !((FileRequest)request).inProgress.get();
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        checkOpen();
        if (!context.agentName().equals(peer))
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "FILE notifies only its own agent");
        }
        context.deliverNotification(peer, payload.clone());
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.CANCELED, "FILE backend of agent '" + context.agentName() +
                "' is closed");
        }
    }

    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        engine.close();
    }
}
