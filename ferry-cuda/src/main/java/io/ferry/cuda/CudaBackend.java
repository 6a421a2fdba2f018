package io.ferry.cuda;

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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The CUDA backend (see the package documentation). Threads: one progress thread that watches the events of
 * posted requests, the notification listener and one reader per same-host peer that notifies this agent; all stop
 * on {@link #close()}.
 */
final class CudaBackend implements Backend
{
    private static final String INFO_PREFIX = "ferry-cuda/2 ";
    private static final int PUBLIC_DATA = CudaDriver.IPC_HANDLE_BYTES + 8 + 4;
    private static final int HOST_ALREADY_REGISTERED = 712;
    private static final long IDLE_SPIN_NS = 2_000_000L;
    /** Spans on one device from which a post queues them with one batched call. */
    private static final int BATCH_MIN = 4;
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());
    /** The CUDA backends of this process by notification socket: a peer in this process is told directly. */
    private static final Map<String, CudaBackend> IN_PROCESS = new ConcurrentHashMap<>();

    private final BackendContext context;
    private final CudaDriver driver;
    private final boolean pinHost;
    private final Contexts contexts;
    private final IpcMappings mappings;
    private final io.ferry.samehost.SameHostChannel notify;
    private final io.ferry.samehost.HostIdentity identity = io.ferry.samehost.HostIdentity.current();
    private final Map<String, String> peerPaths = new ConcurrentHashMap<>();
    private final Set<String> samePeers = ConcurrentHashMap.newKeySet();
    private final Map<String, List<CudaPeerRegion>> peerRegions = new ConcurrentHashMap<>();
    private final Map<Long, Integer> pins = new HashMap<>();
    private final Set<Long> peerAccess = ConcurrentHashMap.newKeySet();
    private final ArrayDeque<MemorySegment>[] eventPools;
    private final ConcurrentLinkedQueue<CudaRequest> submitted = new ConcurrentLinkedQueue<>();
    private final Thread progress;
    private volatile boolean closed;
    /** The device whose context is current on the progress thread (only that thread reads or writes it). */
    private int progressDevice = -1;
    /** Whether posts queue a device's spans with one cuMemcpyBatchAsync_v2 call (off when the driver has none). */
    private volatile boolean batchCopies;
    /** When a request's spans go by the copy kernel. */
    private final KernelRule rule;
    private final CopyKernel kernel;
    /** Set when a device fault killed a context: every later post fails at once, naming it. */
    private static volatile String contextLost;
    /** Device pairs (a << 32 | b) whose memory a kernel on a reaches: b's memory is a's or peer access is on. */
    private final Set<Long> kernelReach = ConcurrentHashMap.newKeySet();

    @SuppressWarnings({"unchecked", "rawtypes"})
    CudaBackend(final BackendContext context, final CudaDriver driver, final boolean pinHost, final byte[] secret,
        final KernelRule rule)
    {
        this.context = context;
        this.rule = rule;
        this.driver = driver;
        this.pinHost = pinHost;
        this.contexts = new Contexts(driver);
        this.mappings = new IpcMappings(driver, contexts);
        this.kernel = new CopyKernel(driver, contexts.deviceCount());
        this.batchCopies = driver.hasBatchCopies() && !"false".equals(System.getProperty("ferry.cuda.batch"));
        this.notify = new io.ferry.samehost.SameHostChannel(context.agentName(), secret, new ChannelListener(),
            context.defaultTimeout().toMillis(), 256, "cuda");
        eventPools = new ArrayDeque[contexts.deviceCount()];
        for (int d = 0; d < eventPools.length; d++)
        {
            eventPools[d] = new ArrayDeque<>();
        }
        IN_PROCESS.put(notify.address(), this);
        progress = new Thread(this::runProgress, "ferry-cuda-progress-" + context.agentName());
        progress.setDaemon(true);
        progress.start();
    }

    public String name()
    {
        return CudaBackendProvider.NAME;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.VRAM, MemoryKind.DRAM);
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

    // ------------------------------------------------------------------------------------------ registration

    public MemoryHandle register(final RegionSpec region)
    {
        if (MemoryKind.DRAM == region.kind())
        {
            final MemorySegment s = region.dramSegment(name());
            return new CudaRegion(MemoryKind.DRAM, s.address(), s.byteSize(), -1, null, 0, pinHost && pin(s));
        }
        if (MemoryKind.VRAM != region.kind())
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "CUDA moves VRAM and DRAM, not " + region.kind());
        }
        final long address = region.address();
        final long[] range = contexts.checkRegion(address, region.length(), region.deviceId());
        final int device = (int)region.deviceId();
        final String what = "VRAM region [0x" + Long.toHexString(address) + ", " + region.length() + " B] on cuda:" +
            device;
        byte[] handle = null;
        try
        {
            handle = driver.ipcGetMemHandle(range[0]);
        }
        catch (final FerryException ex)
        {
            LOG.log(System.Logger.Level.DEBUG, () -> what + " cannot be shared by IPC (" + ex.getMessage() +
                "); other processes reach it through another backend");
        }
        return new CudaRegion(MemoryKind.VRAM, address, region.length(), device, handle, address - range[0], false);
    }

    private boolean pin(final MemorySegment s)
    {
        synchronized (pins)
        {
            final Integer n = pins.get(s.address());
            if (null != n)
            {
                pins.put(s.address(), n + 1);
                return true;
            }
            contexts.makeCurrent(0);
            try
            {
                driver.hostRegister(s.address(), s.byteSize());
            }
            catch (final CudaException ex)
            {
                if (HOST_ALREADY_REGISTERED == ex.result())
                {
                    return false; // pinned by someone else: leave it to them
                }
                throw ex;
            }
            pins.put(s.address(), 1);
            return true;
        }
    }

    public void deregister(final MemoryHandle handle)
    {
        final CudaRegion r = (CudaRegion)handle;
        if (r.pinned)
        {
            synchronized (pins)
            {
                final int n = pins.getOrDefault(r.address, 0);
                if (n <= 1)
                {
                    pins.remove(r.address);
                    contexts.makeCurrent(0);
                    driver.hostUnregister(r.address);
                }
                else
                {
                    pins.put(r.address, n - 1);
                }
            }
        }
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        final CudaRegion r = (CudaRegion)handle;
        if (null == r.ipcHandle)
        {
            return null; // host memory, or VRAM that cannot be shared: not served to other processes
        }
        return ByteBuffer.allocate(PUBLIC_DATA).put(r.ipcHandle).putLong(r.allocationOffset).putInt(r.device).array();
    }

    // ------------------------------------------------------------------------------------------ peers

    public byte[] connectionInfo()
    {
        return (INFO_PREFIX + identity.bootId() + " " + identity.netNamespace() + " " + identity.pidNamespace() + " " +
            ProcessHandle.current().pid() + " " + notify.address())
            .getBytes(StandardCharsets.UTF_8);
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        final String text = new String(info, StandardCharsets.UTF_8);
        final String[] parts = text.startsWith(INFO_PREFIX) ? text.substring(INFO_PREFIX.length()).split(" ") :
            new String[0];
        final io.ferry.samehost.HostIdentity other;
        try
        {
            if (5 != parts.length || !parts[3].matches("\\d{1,10}"))
            {
                throw new IllegalArgumentException("expected 5 words");
            }
            other = new io.ferry.samehost.HostIdentity(parts[0], parts[1], parts[2]);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "CUDA connection info of peer '" + peer + "' is malformed");
        }
        if (null != identity.unreachableReason(other))
        {
            return false; // another host (or network namespace): CUDA IPC and the channel cannot reach it
        }
        if (identity.samePidNamespace(other) && Long.parseLong(parts[3]) == ProcessHandle.current().pid())
        {
            samePeers.add(peer); // this process: its device pointers are valid here as they are
        }
        else
        {
            samePeers.remove(peer);
        }
        peerPaths.put(peer, parts[4]);
        return true;
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        if (!peerPaths.containsKey(region.peer()))
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "CUDA has no connection info of peer '" + region.peer() + "'");
        }
        final byte[] pub = region.publicData();
        if (MemoryKind.VRAM != region.kind() || null == pub || PUBLIC_DATA != pub.length)
        {
            throw new FerryException(ErrorCode.MISMATCH, "CUDA public data of peer '" + region.peer() + "''s " +
                region.kind() + " region at 0x" + Long.toHexString(region.address()) + " is malformed");
        }
        final ByteBuffer b = ByteBuffer.wrap(pub);
        final byte[] handle = new byte[CudaDriver.IPC_HANDLE_BYTES];
        b.get(handle);
        final long offset = b.getLong();
        final int peerDevice = b.getInt();
        final int device = peerDevice >= 0 && peerDevice < contexts.deviceCount() ? peerDevice : 0;
        if (samePeers.contains(region.peer()))
        {
            // an agent in this process: no IPC (the driver refuses to open a handle in the process that made it)
            return new CudaPeerRegion(region.peer(), region.address(), region.length(), device);
        }
        final CudaPeerRegion r = new CudaPeerRegion(region.peer(), handle, offset, region.length(), device, mappings,
            contexts.deviceCount());
        final long at = r.address(device) - offset;
        final long[] range = driver.addressRange(at);
        if (null == range || offset < 0 || offset + region.length() > range[1])
        {
            r.release();
            throw new FerryException(ErrorCode.MISMATCH, "peer '" + region.peer() + "''s VRAM region of " +
                region.length() + " B at offset " + offset + " does not fit the allocation it published");
        }
        peerRegions.computeIfAbsent(region.peer(), p -> java.util.Collections.synchronizedList(new ArrayList<>()))
            .add(r);
        return r;
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        return handle;
    }

    public void connect(final String peer)
    {
        final String path = peerPaths.get(peer);
        if (null == path)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "CUDA has no connection info of peer '" + peer + "'");
        }
        if (!IN_PROCESS.containsKey(path))
        {
            notify.connect(peer, path);
        }
    }

    public void disconnect(final String peer)
    {
        peerPaths.remove(peer);
        notify.forget(peer);
        final List<CudaPeerRegion> regions = peerRegions.remove(peer);
        if (null != regions)
        {
            synchronized (regions)
            {
                regions.forEach(CudaPeerRegion::release);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ transfers

    public BackendRequest prepare(final TransferOp op, final ResolvedDescs local, final ResolvedDescs remote,
        final String peer, final TransferSink sink)
    {
        final int n = local.count();
        final long[] src = new long[n];
        final long[] dst = new long[n];
        final long[] len = new long[n];
        final int[] device = new int[n];
        final boolean[] reach = new boolean[n];
        final List<Integer> used = new ArrayList<>(2);
        for (int i = 0; i < n; i++)
        {
            final CudaRegion l = (CudaRegion)local.handle(i);
            final long la = l.address + local.offset(i);
            final long ra;
            final int rdev;
            if (remote.handle(i) instanceof CudaPeerRegion p)
            {
                // copies run on the local device's stream (the peer's device when ours is host memory), with the
                // peer's allocation mapped in that device's context
                rdev = p.isDirect() || l.device < 0 ? p.device : l.device;
                ra = p.address(rdev) + remote.offset(i);
            }
            else
            {
                final CudaRegion r = (CudaRegion)remote.handle(i);
                ra = r.address + remote.offset(i);
                rdev = r.device;
            }
            src[i] = TransferOp.WRITE == op ? la : ra;
            dst[i] = TransferOp.WRITE == op ? ra : la;
            len[i] = local.length(i);
            device[i] = l.device >= 0 ? l.device : rdev;
            if (l.device >= 0 && rdev >= 0 && l.device != rdev)
            {
                ensurePeerAccess(l.device, rdev);
            }
            reach[i] = device[i] >= 0 && kernelReaches(device[i], l, l.device) &&
                (remote.handle(i) instanceof CudaPeerRegion || kernelReaches(device[i], (CudaRegion)remote.handle(i),
                rdev)) && (rdev < 0 || rdev == device[i] || kernelReach.contains(((long)device[i] << 32) | rdev));
            if (device[i] >= 0 && !used.contains(device[i]))
            {
                used.add(device[i]);
            }
        }
        final CudaRequest r = new CudaRequest(op, peer, sink, src, dst, len, device,
            used.stream().mapToInt(Integer::intValue).toArray());
        for (int k = 0; k < r.devices.length; k++)
        {
            planKernel(r, k, reach);
        }
        if (batchCopies)
        {
            for (int k = 0; k < r.devices.length; k++)
            {
                r.batches[k] = batch(r, r.devices[k]);
            }
        }
        return r;
    }

    /** Whether a kernel on {@code device} reaches a region of this process (host memory: when pinned by us). */
    private boolean kernelReaches(final int device, final CudaRegion region, final int regionDevice)
    {
        return MemoryKind.VRAM == region.kind ? regionDevice >= 0 : region.pinned && kernel.reachesHostMemory(device);
    }

    /** Puts a device's spans in a copy kernel table when the rule says so and the kernel reaches all of them. */
    private void planKernel(final CudaRequest r, final int k, final boolean[] reach)
    {
        final int d = r.devices[k];
        if (null != kernel.unavailableReason(d))
        {
            return;
        }
        final boolean[] select = new boolean[r.len.length];
        int spans = 0;
        long bytes = 0;
        for (int i = 0; i < r.len.length; i++)
        {
            if (r.device[i] == d)
            {
                if (!reach[i])
                {
                    return; // one span the kernel cannot reach: the device's spans go by the driver's copies
                }
                select[i] = true;
                spans++;
                bytes += r.len[i];
            }
        }
        if (rule.useKernel(spans, bytes))
        {
            r.kernels[k] = kernel.table(r, CopyTable.of(d, r.src, r.dst, r.len, select));
            r.kernel = kernel;
            for (int i = 0; i < select.length; i++)
            {
                r.viaKernel[i] |= select[i];
            }
        }
    }

    /** A device's spans as native arrays for one batched call; null when it has too few to gain from one. */
    private static CudaRequest.Batch batch(final CudaRequest r, final int device)
    {
        int n = 0;
        for (int i = 0; i < r.device.length; i++)
        {
            n += r.device[i] == device && !r.viaKernel[i] ? 1 : 0;
        }
        if (n < BATCH_MIN)
        {
            return null;
        }
        final Arena arena = Arena.ofAuto(); // lives as long as the request
        final MemorySegment dsts = arena.allocate(ValueLayout.JAVA_LONG, n);
        final MemorySegment srcs = arena.allocate(ValueLayout.JAVA_LONG, n);
        final MemorySegment sizes = arena.allocate(ValueLayout.JAVA_LONG, n);
        int k = 0;
        for (int i = 0; i < r.device.length; i++)
        {
            if (r.device[i] == device && !r.viaKernel[i])
            {
                dsts.setAtIndex(ValueLayout.JAVA_LONG, k, r.dst[i]);
                srcs.setAtIndex(ValueLayout.JAVA_LONG, k, r.src[i]);
                sizes.setAtIndex(ValueLayout.JAVA_LONG, k, r.len[i]);
                k++;
            }
        }
        // CUmemcpyAttributes: srcAccessOrder = STREAM (1), srcLocHint = dstLocHint = {DEVICE (1), device}, flags 0
        final MemorySegment attrs = arena.allocate(CudaDriver.MEMCPY_ATTRIBUTES_BYTES, 8);
        attrs.set(ValueLayout.JAVA_INT, 0, 1);
        attrs.set(ValueLayout.JAVA_INT, 4, 1);
        attrs.set(ValueLayout.JAVA_INT, 8, device);
        attrs.set(ValueLayout.JAVA_INT, 12, 1);
        attrs.set(ValueLayout.JAVA_INT, 16, device);
        attrs.set(ValueLayout.JAVA_INT, 20, 0);
        final MemorySegment attrIndex = arena.allocate(ValueLayout.JAVA_LONG);
        attrIndex.set(ValueLayout.JAVA_LONG, 0, 0L);
        return new CudaRequest.Batch(dsts, srcs, sizes, attrs, attrIndex, n);
    }

    private void ensurePeerAccess(final int a, final int b)
    {
        if (peerAccess.add(((long)a << 32) | b) && driver.canAccessPeer(a, b))
        {
            contexts.makeCurrent(a);
            driver.enablePeerAccess(contexts.context(b));
            kernelReach.add(((long)a << 32) | b);
        }
    }

    /**
     * Hands the request to the progress thread, which launches its copies: only ferry's code runs there, so the
     * device contexts it makes current stay current (switching contexts on the caller's thread costs more than the
     * launch), and the caller returns at once.
     */
    public void post(final BackendRequest request, final byte[] notification)
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.CANCELED, "CUDA backend of " + context.agentName() + " is closed");
        }
        final String lost = contextLost;
        if (null != lost)
        {
            throw new FerryException(ErrorCode.BACKEND, lost);
        }
        final CudaRequest r = (CudaRequest)request;
        r.notification = notification;
        r.inFlight = true;
        submitted.add(r);
        LockSupport.unpark(progress);
    }

    /** On the progress thread: queues the request's copies and records its events; host copies run here. */
    private void launch(final CudaRequest r)
    {
        final boolean[] launched = r.launched;
        for (int k = 0; k < r.devices.length; k++)
        {
            final CopyKernel.Table t = r.kernels[k];
            launched[k] = false;
            if (null != t)
            {
                progressCurrent(r.devices[k]);
                launched[k] = kernel.launch(t, contexts.stream(r.devices[k]));
            }
        }
        final boolean[] batched = r.batched;
        java.util.Arrays.fill(batched, false);
        for (int k = 0; k < r.devices.length && batchCopies; k++)
        {
            final CudaRequest.Batch b = r.batches[k];
            if (null != b)
            {
                final int d = r.devices[k];
                progressCurrent(d);
                final int result = driver.memcpyBatchAsync(b.dsts(), b.srcs(), b.sizes(), b.count(), b.attrs(),
                    b.attrIndex(), contexts.stream(d));
                if (CudaDriver.SUCCESS == result)
                {
                    batched[k] = true;
                }
                else
                {
                    // a failed batch call queued nothing: copy one by one from now on
                    batchCopies = false;
                    LOG.log(System.Logger.Level.WARNING, "CUDA agent " + context.agentName() +
                        ": cuMemcpyBatchAsync_v2 failed (" + driver.errorName(result) + "); copying descriptor by " +
                        "descriptor from now on");
                }
            }
        }
        launchRest(r, batched);
    }

    /** Queues the copies a batched call did not, copies host spans here, then records the events. */
    @SuppressWarnings("restricted")
    private void launchRest(final CudaRequest r, final boolean[] batched)
    {
        for (int i = 0; i < r.len.length; i++)
        {
            final int d = r.device[i];
            if (d < 0)
            {
                MemorySegment.copy(MemorySegment.ofAddress(r.src[i]).reinterpret(r.len[i]), 0,
                    MemorySegment.ofAddress(r.dst[i]).reinterpret(r.len[i]), 0, r.len[i]);
                continue;
            }
            final int k = indexOf(r.devices, d);
            if (r.viaKernel[i] ? r.launched[k] : batched[k])
            {
                continue;
            }
            progressCurrent(d);
            driver.memcpyAsync(r.dst[i], r.src[i], r.len[i], contexts.stream(d));
        }
        for (int k = 0; k < r.devices.length; k++)
        {
            final int d = r.devices[k];
            progressCurrent(d);
            final MemorySegment e = takeEvent(d);
            driver.eventRecord(e, contexts.stream(d));
            r.events[k] = e;
        }
    }

    private static int indexOf(final int[] devices, final int device)
    {
        for (int k = 0; k < devices.length; k++)
        {
            if (devices[k] == device)
            {
                return k;
            }
        }
        return -1;
    }

    private void progressCurrent(final int device)
    {
        if (progressDevice != device)
        {
            contexts.makeCurrent(device);
            progressDevice = device;
        }
    }

    private MemorySegment takeEvent(final int device)
    {
        synchronized (eventPools[device])
        {
            final MemorySegment e = eventPools[device].pollFirst();
            return null != e ? e : driver.eventCreate();
        }
    }

    private void returnEvent(final int device, final MemorySegment e)
    {
        synchronized (eventPools[device])
        {
            eventPools[device].addFirst(e);
        }
    }

    /** The copies of a post are done: the notification goes out, then the sink hears. */
    private void finish(final CudaRequest r)
    {
        ended(r);
        r.inFlight = false;
        final byte[] n = r.notification;
        if (null != n)
        {
            try
            {
                sendNotification(r.peer, n);
            }
            catch (final FerryException ex)
            {
                r.sink.onFailure(new FerryException(ex.code(), "the data of a " + r.op + " to '" + r.peer +
                    "' landed but its notification could not be delivered: " + ex.getMessage(), ex));
                return;
            }
        }
        r.sink.onComplete();
    }

    private void fail(final CudaRequest r, final FerryException failure)
    {
        ended(r);
        final FerryException ex = contextFault(failure);
        r.inFlight = false;
        if (null != r.notification && TransferOp.WRITE == r.op && !context.agentName().equals(r.peer))
        {
            final String path = peerPaths.get(r.peer);
            final CudaBackend here = null == path ? null : IN_PROCESS.get(path);
            if (null != here)
            {
                here.context.deliverFailureNotification(context.agentName(), r.notification, ex.getMessage());
            }
            else if (null != path)
            {
                try
                {
                    notify.notifyFailure(r.peer, path, r.notification, ex.getMessage());
                }
                catch (final FerryException ignored)
                {
                    // the peer is gone too
                }
            }
        }
        r.sink.onFailure(ex);
    }

    private static void ended(final CudaRequest r)
    {
        for (final CopyKernel.Table t : r.kernels)
        {
            if (null != t)
            {
                CopyKernel.ended(t);
            }
        }
    }

    /**
     * A fault on the device (an address no mapping backs, say) leaves its context unusable for the rest of the
     * process: CUDA has no way back short of a process restart. Such an error is kept, named in this post's
     * failure and in every later one, and in {@link CudaBackendProvider#limitations()}.
     */
    private FerryException contextFault(final FerryException ex)
    {
        if (ex instanceof CudaException ce && isSticky(ce.result()))
        {
            if (null == contextLost)
            {
                contextLost = "the CUDA context of this process was lost to " + ce.resultName() + " in an " +
                    "earlier copy (" + ex.getMessage() + "); CUDA cannot recover a context after a device fault: " +
                    "restart the process";
                LOG.log(System.Logger.Level.ERROR, contextLost);
            }
            return new FerryException(ErrorCode.BACKEND, "a CUDA copy failed on the device: " + ex.getMessage() +
                "; the context is lost, later CUDA posts of this process fail (restart it)", ex);
        }
        return ex;
    }

    /** The CUresults after which a context is unusable (illegal address, launch failure and the like). */
    static boolean isSticky(final int result)
    {
        return switch (result)
        {
            case 700, 702, 710, 714, 715, 716, 717, 718, 719 -> true;
            default -> false;
        };
    }

    /** @return why this process's CUDA copies cannot run as they should, or null. */
    static String processLimitations()
    {
        return contextLost;
    }

    private void runProgress()
    {
        final List<CudaRequest> active = new ArrayList<>();
        int idle = 0;
        long lastWork = 0;
        while (!closed)
        {
            CudaRequest s;
            int done = 0;
            while (null != (s = submitted.poll()))
            {
                try
                {
                    launch(s);
                    active.add(s);
                }
                catch (final FerryException ex)
                {
                    done++;
                    releaseEvents(s);
                    fail(s, ex);
                }
            }
            kernel.sweep(this::progressCurrent);
            for (int i = active.size() - 1; i >= 0; i--)
            {
                final CudaRequest r = active.get(i);
                try
                {
                    if (allDone(r))
                    {
                        active.remove(i);
                        done++;
                        finish(r);
                    }
                }
                catch (final FerryException ex)
                {
                    active.remove(i);
                    done++;
                    releaseEvents(r);
                    fail(r, ex);
                }
            }
            if (0 != done || !active.isEmpty())
            {
                // copies in flight: poll their events closely (completion latency is what small copies cost),
                // letting other threads in now and then
                if (++idle % 256 == 0)
                {
                    Thread.yield();
                }
                else
                {
                    Thread.onSpinWait();
                }
            }
            else if (System.nanoTime() - lastWork < IDLE_SPIN_NS)
            {
                // just finished work: the next post often follows at once, and waking a parked thread costs
                // tens of microseconds, as much as a 64 MiB copy on the device
                Thread.onSpinWait();
            }
            else
            {
                idle = 0;
                LockSupport.parkNanos(this, 1_000_000L);
            }
            if (0 != done)
            {
                lastWork = System.nanoTime();
            }
        }
        for (final CudaRequest r : active)
        {
            releaseEvents(r);
            r.inFlight = false;
            r.sink.onFailure(new FerryException(ErrorCode.CANCELED, "the CUDA backend of " + context.agentName() +
                " closed during a " + r.op));
        }
    }

    /** @return true when every event of the post has fired (and then returns them to their pools). */
    private boolean allDone(final CudaRequest r)
    {
        for (int k = 0; k < r.devices.length; k++)
        {
            if (null != r.events[k])
            {
                progressCurrent(r.devices[k]);
                if (!driver.eventDone(r.events[k]))
                {
                    return false;
                }
            }
        }
        releaseEvents(r);
        return true;
    }

    private void releaseEvents(final CudaRequest r)
    {
        for (int k = 0; k < r.devices.length; k++)
        {
            if (null != r.events[k])
            {
                returnEvent(r.devices[k], r.events[k]);
                r.events[k] = null;
            }
        }
    }

    /** GPU copies run on the copy engines, not this CPU: a waiter spins up to 2 ms rather than pay a wake-up. */
    public long awaitSpinNanos(final long bytes)
    {
        return 2_000_000L;
    }

    public boolean abort(final BackendRequest request)
    {
        final CudaRequest r = (CudaRequest)request;
        if (submitted.remove(r))
        {
            r.inFlight = false; // not launched yet
            return true;
        }
        return !r.inFlight; // copies on a stream cannot be recalled
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        if (context.agentName().equals(peer))
        {
            context.deliverNotification(peer, payload);
            return;
        }
        final String path = peerPaths.get(peer);
        if (null == path)
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "CUDA cannot reach peer '" + peer + "'");
        }
        final CudaBackend here = IN_PROCESS.get(path);
        if (null != here)
        {
            here.context.deliverNotification(context.agentName(), payload);
            return;
        }
        try
        {
            notify.notify(peer, path, payload);
        }
        catch (final FerryException ex)
        {
            if (ErrorCode.REMOTE_DISCONNECT == ex.code())
            {
                context.peerDisconnected(peer, ex.getMessage());
            }
            throw ex;
        }
    }

    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        IN_PROCESS.remove(notify.address(), this);
        LockSupport.unpark(progress);
        try
        {
            progress.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        notify.close();
        try
        {
            kernel.close(contexts::makeCurrent);
        }
        catch (final RuntimeException ex)
        {
            // the context may be gone; the rest is released anyway
        }
        mappings.closeAll();
        synchronized (pins)
        {
            for (final Long address : pins.keySet())
            {
                try
                {
                    contexts.makeCurrent(0);
                    driver.hostUnregister(address);
                }
                catch (final RuntimeException ex)
                {
                    // unpinning the rest anyway
                }
            }
            pins.clear();
        }
        for (int d = 0; d < eventPools.length; d++)
        {
            synchronized (eventPools[d])
            {
                for (final MemorySegment e : eventPools[d])
                {
                    try
                    {
                        contexts.makeCurrent(d);
                        driver.eventDestroy(e);
                    }
                    catch (final RuntimeException ex)
                    {
                        // destroying the rest anyway
                    }
                }
                eventPools[d].clear();
            }
        }
        contexts.close();
    }

    public String toString()
    {
        return "CudaBackend{" + context.agentName() + "}";
    }

    /** What arrives on the same-host channel. */
    private final class ChannelListener implements io.ferry.samehost.SameHostChannel.Listener
    {
        public void notification(final String sender, final byte[] payload)
        {
            context.deliverNotification(sender, payload);
        }

        public void failureNotification(final String sender, final byte[] payload, final String reason)
        {
            context.deliverFailureNotification(sender, payload, reason);
        }

        public void initiatorLost(final String sender, final String reason)
        {
            context.peerConnectionsLost(sender, reason);
        }

        public void targetLost(final String peer, final String reason)
        {
            if (peerPaths.containsKey(peer))
            {
                context.peerDisconnected(peer, "CUDA: " + reason);
            }
        }
    }
}
