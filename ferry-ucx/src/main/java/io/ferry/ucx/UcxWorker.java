package io.ferry.ucx;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.TransferOp;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The one thread that owns a UCX context and worker ({@code UCS_THREAD_MODE_SINGLE}): every UCX call is made here.
 * Other threads hand it work ({@link #execute}, {@link #call}) through a queue and wake it with
 * {@code ucp_worker_signal}. Its loop runs the queued work, drives {@code ucp_worker_progress}, moves each post
 * through its stages (puts or gets of every span → endpoint flush → notification as an active message → done) and
 * fails posts past their deadline. With nothing to do it arms the worker and sleeps in {@code poll} on UCX's event
 * fd (or spins, with {@code progress=spin}).
 */
@SuppressWarnings("restricted") // reads what UCX returns (addresses, rkeys, messages) at the lengths UCX gives
final class UcxWorker implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(UcxWorker.class.getName());
    private static final long IDLE_POLL_MILLIS = 100;
    private static final AtomicLong PEER_IDS = new AtomicLong(1);
    /** UCP contexts made and not yet cleaned up, in this process (tests check that close leaves none). */
    static final java.util.concurrent.atomic.AtomicInteger LIVE_CONTEXTS = new java.util.concurrent.atomic.AtomicInteger();
    /** Workers that stopped on an error, and closes that could not release everything (tests check for none). */
    static final java.util.concurrent.atomic.AtomicInteger UNCLEAN_CLOSES =
        new java.util.concurrent.atomic.AtomicInteger();
    /** Where a notification's payload starts in its native buffer, after the longest header. */
    private static final long AM_PAYLOAD_AT = 3 + UcxWire.MAX_NAME_BYTES + 1;

    /** Receives what peers send: notifications (on the worker thread). */
    interface Inbound
    {
        void notification(String sender, byte[] payload);

        void endpointFailed(UcxPeer peer, String reason);
    }

    private final String agent;
    private final UcxConfig config;
    private final Inbound inbound;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Map<Long, UcxPeer> peersById = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private volatile boolean sleeping;
    private volatile boolean closing;
    private volatile MemorySegment worker = MemorySegment.NULL;

    // ------------------------------------------------------------------------------------------ worker thread only
    private final Arena arena = Arena.ofShared();
    private MemorySegment context = MemorySegment.NULL;
    private boolean contextMade;
    private int eventFd = -1;
    private byte[] address;
    private boolean cudaAware;
    private final List<Post> inFlight = new ArrayList<>();
    private final List<UcxPeer> failedEndpoints = new ArrayList<>();
    private MemorySegment opParam;
    private MemorySegment flushParam;
    private MemorySegment amParam;
    private MemorySegment closeParam;
    private MemorySegment gracefulCloseParam;
    private MemorySegment pollFd;

    /** One post of a request, moving through its stages on the worker thread. */
    private static final class Post
    {
        static final int FLUSH = 1;
        static final int NOTIFY = 2;

        final UcxRequest request;
        final byte[] notification;
        final long deadlineNs;
        int stage;
        long ucxRequest;
        FerryException error;
        MemorySegment amBuffers;

        Post(final UcxRequest request, final byte[] notification, final long deadlineNs)
        {
            this.request = request;
            this.notification = notification;
            this.deadlineNs = deadlineNs;
        }
    }

    UcxWorker(final String agent, final UcxConfig config, final Inbound inbound)
    {
        this.agent = agent;
        this.config = config;
        this.inbound = inbound;
        this.peerErrorsPossible = detectsPeerFailure(config.ucx().get("TLS"));
        thread = Thread.ofPlatform().daemon().name("ferry-ucx-" + agent).unstarted(this::run);
        thread.start();
        try
        {
            started.get(config.timeoutMillis(), TimeUnit.MILLISECONDS);
        }
        catch (final ExecutionException ex)
        {
            throw ex.getCause() instanceof FerryException f ? f : new FerryException(ErrorCode.BACKEND,
                "UCX of agent '" + agent + "' did not start: " + ex.getCause(), ex.getCause());
        }
        catch (final TimeoutException | InterruptedException ex)
        {
            closing = true;
            throw new FerryException(ErrorCode.BACKEND, "UCX of agent '" + agent + "' did not start within " +
                config.timeoutMillis() + " ms");
        }
    }

    /** @return this worker's address, for the agent's connection info. */
    byte[] address()
    {
        return address.clone();
    }

    /** @return whether this UCX moves CUDA memory (it was built with CUDA support and found it). */
    boolean cudaAware()
    {
        return cudaAware;
    }

    /** @return a new peer whose endpoint errors this worker reports. */
    UcxPeer newPeer(final String name, final byte[] workerAddress)
    {
        final UcxPeer p = new UcxPeer(name, workerAddress, PEER_IDS.getAndIncrement());
        peersById.put(p.id, p);
        return p;
    }

    // ------------------------------------------------------------------------------------------ handing work over

    /** Runs a task on the worker thread, soon. */
    void execute(final Runnable task)
    {
        if (closing)
        {
            throw new FerryException(ErrorCode.CANCELED, "UCX backend of agent '" + agent + "' is closed");
        }
        tasks.add(task);
        if (sleeping)
        {
            signal();
        }
    }

    /** Runs a task on the worker thread and waits for its result, within the backend's deadline. */
    <T> T call(final String what, final Supplier<T> task)
    {
        if (Thread.currentThread() == thread)
        {
            return task.get();
        }
        final CompletableFuture<T> f = new CompletableFuture<>();
        execute(() ->
        {
            try
            {
                f.complete(task.get());
            }
            catch (final RuntimeException ex)
            {
                f.completeExceptionally(ex);
            }
        });
        try
        {
            return f.get(config.timeoutMillis(), TimeUnit.MILLISECONDS);
        }
        catch (final ExecutionException ex)
        {
            throw ex.getCause() instanceof RuntimeException r ? r : new IllegalStateException(ex.getCause());
        }
        catch (final TimeoutException ex)
        {
            throw new FerryException(ErrorCode.TIMED_OUT, "UCX backend of agent '" + agent + "': " + what +
                " did not finish within " + config.timeoutMillis() + " ms");
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted while waiting for " + what);
        }
    }

    private void signal()
    {
        final MemorySegment w = worker;
        if (!MemorySegment.NULL.equals(w))
        {
            try
            {
                final int ignore = (int)Ucp.WORKER_SIGNAL.invokeExact(w);
            }
            catch (final Throwable t)
            {
                throw Ucp.rethrow(t);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ the loop

    private void run()
    {
        try
        {
            open();
            started.complete(null);
        }
        catch (final Throwable t)
        {
            started.completeExceptionally(t);
            shutdown();
            return;
        }
        try
        {
            long lastWork = System.nanoTime();
            while (!closing)
            {
                int work = runTasks();
                work += progress();
                final long now = System.nanoTime();
                work += advance(now);
                work += advanceSends();
                if (0 != work)
                {
                    lastWork = now;
                }
                else if (config.spin() || now - lastWork < config.idleSpinNanos())
                {
                    Thread.onSpinWait();
                }
                else
                {
                    idle();
                }
            }
        }
        catch (final Throwable t)
        {
            UNCLEAN_CLOSES.incrementAndGet();
            LOG.log(System.Logger.Level.ERROR, "UCX worker of agent " + agent + " stopped", t);
        }
        finally
        {
            shutdown();
        }
    }

    private int runTasks()
    {
        int n = 0;
        Runnable t;
        while (null != (t = tasks.poll()))
        {
            try
            {
                t.run();
            }
            catch (final RuntimeException ex)
            {
                LOG.log(System.Logger.Level.WARNING, "UCX worker of agent " + agent + ": a task failed", ex);
            }
            n++;
        }
        return n;
    }

    private int progress() throws Throwable
    {
        int n = 0;
        int p;
        while (0 != (p = (int)Ucp.WORKER_PROGRESS.invokeExact(worker)))
        {
            n += p;
        }
        if (!failedEndpoints.isEmpty())
        {
            final List<UcxPeer> failed = new ArrayList<>(failedEndpoints);
            failedEndpoints.clear();
            for (final UcxPeer peer : failed)
            {
                endpointLost(peer, peer.failure);
            }
            n++;
        }
        return n;
    }

    private void idle() throws Throwable
    {
        final int armed = (int)Ucp.WORKER_ARM.invokeExact(worker);
        if (Ucp.UCS_ERR_BUSY == armed)
        {
            return;
        }
        sleeping = true;
        try
        {
            if (!tasks.isEmpty() || closing)
            {
                return;
            }
            long wait = IDLE_POLL_MILLIS;
            if (!inFlight.isEmpty())
            {
                wait = Math.min(wait, Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextDeadline() - System.nanoTime())));
            }
            pollFd.set(JAVA_INT, 0, eventFd);
            pollFd.set(JAVA_INT, 4, 1); // POLLIN
            final int ignore = (int)Ucp.POLL.invokeExact(pollFd, 1L, (int)wait);
        }
        finally
        {
            sleeping = false;
        }
    }

    private long nextDeadline()
    {
        long d = Long.MAX_VALUE;
        for (final Post p : inFlight)
        {
            d = Math.min(d, p.deadlineNs);
        }
        return d;
    }

    // ------------------------------------------------------------------------------------------ open and close

    private void open() throws Throwable
    {
        opParam = Ucp.struct(arena);
        flushParam = Ucp.struct(arena);
        amParam = Ucp.struct(arena);
        amParam.set(JAVA_INT, Ucp.REQUEST_PARAM_OP_ATTR_MASK, Ucp.OP_ATTR_FIELD_FLAGS);
        amParam.set(JAVA_INT, Ucp.REQUEST_PARAM_FLAGS, Ucp.AM_SEND_FLAG_EAGER);
        closeParam = Ucp.struct(arena);
        closeParam.set(JAVA_INT, Ucp.REQUEST_PARAM_OP_ATTR_MASK, Ucp.OP_ATTR_FIELD_FLAGS);
        closeParam.set(JAVA_INT, Ucp.REQUEST_PARAM_FLAGS, Ucp.EP_CLOSE_FLAG_FORCE);
        gracefulCloseParam = Ucp.struct(arena);
        pollFd = arena.allocate(8, 4);
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment out = local.allocate(ADDRESS);
            check("ucp_config_read", (int)Ucp.CONFIG_READ.invokeExact(MemorySegment.NULL, MemorySegment.NULL, out));
            final MemorySegment cfg = out.get(ADDRESS, 0);
            try
            {
                for (final Map.Entry<String, String> e : config.ucx().entrySet())
                {
                    final int st = (int)Ucp.CONFIG_MODIFY.invokeExact(cfg, local.allocateFrom(e.getKey()),
                        local.allocateFrom(e.getValue()));
                    if (Ucp.UCS_OK != st)
                    {
                        throw FerryException.invalid("UCX refused its setting UCX_" + e.getKey() + "=" +
                            e.getValue() + ": " + Ucp.statusString(st));
                    }
                }
                final MemorySegment params = Ucp.struct(local);
                params.set(JAVA_LONG, 0, Ucp.PARAM_FIELD_FEATURES | Ucp.PARAM_FIELD_NAME);
                params.set(JAVA_LONG, Ucp.PARAMS_FEATURES, Ucp.FEATURE_RMA | Ucp.FEATURE_AM | Ucp.FEATURE_WAKEUP);
                params.set(ADDRESS, Ucp.PARAMS_NAME, local.allocateFrom("ferry-" + agent));
                check("ucp_init", (int)Ucp.INIT_VERSION.invokeExact(Ucp.API_MAJOR, Ucp.API_MINOR, params, cfg, out));
                context = out.get(ADDRESS, 0);
                contextMade = true;
                LIVE_CONTEXTS.incrementAndGet();
            }
            finally
            {
                Ucp.CONFIG_RELEASE.invokeExact(cfg);
            }
            final MemorySegment attr = Ucp.struct(local);
            attr.set(JAVA_LONG, 0, Ucp.ATTR_FIELD_MEMORY_TYPES);
            if (Ucp.UCS_OK == (int)Ucp.CONTEXT_QUERY.invokeExact(context, attr))
            {
                cudaAware = 0 != (attr.get(JAVA_LONG, Ucp.CONTEXT_ATTR_MEMORY_TYPES) & (1L << Ucp.MEMORY_TYPE_CUDA));
            }
            final MemorySegment wp = Ucp.struct(local);
            wp.set(JAVA_LONG, 0, Ucp.WORKER_PARAM_FIELD_THREAD_MODE);
            wp.set(JAVA_INT, Ucp.WORKER_PARAMS_THREAD_MODE, Ucp.THREAD_MODE_SINGLE);
            check("ucp_worker_create", (int)Ucp.WORKER_CREATE.invokeExact(context, wp, out));
            worker = out.get(ADDRESS, 0);
            final MemorySegment len = local.allocate(JAVA_LONG);
            check("ucp_worker_get_address", (int)Ucp.WORKER_GET_ADDRESS.invokeExact(worker, out, len));
            final MemorySegment a = out.get(ADDRESS, 0);
            address = a.reinterpret(len.get(JAVA_LONG, 0)).toArray(JAVA_BYTE);
            Ucp.WORKER_RELEASE_ADDRESS.invokeExact(worker, a);
            final MemorySegment fd = local.allocate(JAVA_INT);
            check("ucp_worker_get_efd", (int)Ucp.WORKER_GET_EFD.invokeExact(worker, fd));
            eventFd = fd.get(JAVA_INT, 0);
            final MemorySegment am = Ucp.struct(local);
            am.set(JAVA_LONG, 0, Ucp.AM_HANDLER_PARAM_FIELD_ID | Ucp.AM_HANDLER_PARAM_FIELD_FLAGS |
                Ucp.AM_HANDLER_PARAM_FIELD_CB | Ucp.AM_HANDLER_PARAM_FIELD_ARG);
            am.set(JAVA_INT, Ucp.AM_HANDLER_PARAMS_ID, UcxWire.AM_ID);
            am.set(JAVA_INT, Ucp.AM_HANDLER_PARAMS_FLAGS, Ucp.AM_FLAG_WHOLE_MSG);
            am.set(ADDRESS, Ucp.AM_HANDLER_PARAMS_CB, Ucp.upcall(Ucp.virtual(MethodHandles.lookup(), "onActiveMessage",
                MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, long.class,
                MemorySegment.class, long.class, MemorySegment.class), this), Ucp.AM_RECV_CALLBACK, arena));
            am.set(ADDRESS, Ucp.AM_HANDLER_PARAMS_ARG, MemorySegment.NULL);
            check("ucp_worker_set_am_recv_handler", (int)Ucp.WORKER_SET_AM_RECV_HANDLER.invokeExact(worker, am));
        }
    }

    private MemorySegment errorHandler;
    private boolean warnedNoPeerErrors;
    /**
     * Whether UCX_TLS leaves a transport that detects failed peers (TCP or an RDMA one). Shared memory alone does
     * not: UCX then refuses an endpoint with peer error handling, and logs an error for it, so none is asked for.
     */
    private final boolean peerErrorsPossible;

    private MemorySegment errorHandler()
    {
        if (null == errorHandler)
        {
            errorHandler = Ucp.upcall(Ucp.virtual(MethodHandles.lookup(), "onEndpointError", MethodType.methodType(
                void.class, MemorySegment.class, MemorySegment.class, int.class), this), Ucp.ERR_HANDLER_CALLBACK,
                arena);
        }
        return errorHandler;
    }

    public void close()
    {
        closing = true;
        signal();
        try
        {
            thread.join(Math.max(1000, config.timeoutMillis()));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive())
        {
            LOG.log(System.Logger.Level.WARNING, "UCX worker of agent " + agent + " did not stop in time");
        }
    }

    private void shutdown()
    {
        closing = true;
        final FerryException closed = new FerryException(ErrorCode.CANCELED, "UCX backend of agent '" + agent +
            "' was closed");
        Runnable t;
        while (null != (t = tasks.poll()))
        {
            try
            {
                t.run();
            }
            catch (final RuntimeException ignore)
            {
                // tasks that find the worker closing report it themselves
            }
        }
        for (final Post p : inFlight)
        {
            freeRequest(p.ucxRequest);
            p.request.sink.onFailure(closed);
        }
        inFlight.clear();
        for (final Send send : sends)
        {
            freeRequest(send.request());
        }
        sends.clear();
        for (final UcxPeer peer : peersById.values())
        {
            try
            {
                closeEndpoint(peer, null == peer.failure);
            }
            catch (final RuntimeException ex)
            {
                UNCLEAN_CLOSES.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, "UCX worker of agent " + agent + " could not close its " +
                    "endpoint to " + peer.name, ex);
            }
        }
        peersById.clear();
        try
        {
            for (final UcxLocalRegion r : mapped)
            {
                final int ignore = (int)Ucp.MEM_UNMAP.invokeExact(context, r.memh);
            }
            mapped.clear();
            if (!MemorySegment.NULL.equals(worker))
            {
                final MemorySegment w = worker;
                worker = MemorySegment.NULL;
                Ucp.WORKER_DESTROY.invokeExact(w);
            }
            if (!MemorySegment.NULL.equals(context))
            {
                Ucp.CLEANUP.invokeExact(context);
                context = MemorySegment.NULL;
            }
        }
        catch (final Throwable ex)
        {
            UNCLEAN_CLOSES.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, "UCX worker of agent " + agent + " did not close cleanly", ex);
        }
        finally
        {
            if (contextMade)
            {
                LIVE_CONTEXTS.decrementAndGet();
            }
        }
        arena.close();
    }

    // ------------------------------------------------------------------------------------------ memory

    /** Regions mapped and not yet unmapped: unmapped at close. */
    private final List<UcxLocalRegion> mapped = new ArrayList<>();

    /** Maps memory with UCX and packs its rkey (worker thread). */
    UcxLocalRegion map(final long address, final long length, final boolean cuda)
    {
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment p = Ucp.struct(local);
            p.set(JAVA_LONG, 0, Ucp.MEM_MAP_PARAM_FIELD_ADDRESS | Ucp.MEM_MAP_PARAM_FIELD_LENGTH |
                Ucp.MEM_MAP_PARAM_FIELD_MEMORY_TYPE);
            p.set(JAVA_LONG, Ucp.MEM_MAP_PARAMS_ADDRESS, address);
            p.set(JAVA_LONG, Ucp.MEM_MAP_PARAMS_LENGTH, length);
            p.set(JAVA_INT, Ucp.MEM_MAP_PARAMS_MEMORY_TYPE, cuda ? Ucp.MEMORY_TYPE_CUDA : Ucp.MEMORY_TYPE_HOST);
            final MemorySegment out = local.allocate(ADDRESS);
            check("ucp_mem_map", (int)Ucp.MEM_MAP.invokeExact(context, p, out));
            final MemorySegment memh = out.get(ADDRESS, 0);
            final MemorySegment size = local.allocate(JAVA_LONG);
            final int st = (int)Ucp.RKEY_PACK.invokeExact(context, memh, out, size);
            if (Ucp.UCS_OK != st)
            {
                final int ignore = (int)Ucp.MEM_UNMAP.invokeExact(context, memh);
                check("ucp_rkey_pack", st);
            }
            final MemorySegment buf = out.get(ADDRESS, 0);
            final byte[] rkey = buf.reinterpret(size.get(JAVA_LONG, 0)).toArray(JAVA_BYTE);
            Ucp.RKEY_BUFFER_RELEASE.invokeExact(buf);
            final UcxLocalRegion region = new UcxLocalRegion(address, length, memh, rkey);
            mapped.add(region);
            return region;
        }
        catch (final Throwable t)
        {
            throw Ucp.rethrow(t);
        }
    }

    /** Unmaps a region (worker thread). */
    void unmap(final UcxLocalRegion region)
    {
        if (!mapped.remove(region))
        {
            return;
        }
        try
        {
            final int ignore = (int)Ucp.MEM_UNMAP.invokeExact(context, region.memh);
        }
        catch (final Throwable t)
        {
            throw Ucp.rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------ endpoints

    /** @return the peer's endpoint, made now if there is none (worker thread). */
    MemorySegment endpoint(final UcxPeer peer)
    {
        if (!MemorySegment.NULL.equals(peer.endpoint))
        {
            return peer.endpoint;
        }
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment p = Ucp.struct(local);
            p.set(JAVA_LONG, 0, Ucp.EP_PARAM_FIELD_REMOTE_ADDRESS | Ucp.EP_PARAM_FIELD_ERR_HANDLING_MODE |
                Ucp.EP_PARAM_FIELD_ERR_HANDLER | Ucp.EP_PARAM_FIELD_NAME);
            p.set(ADDRESS, Ucp.EP_PARAMS_ADDRESS, local.allocateFrom(JAVA_BYTE, peer.workerAddress));
            p.set(JAVA_INT, Ucp.EP_PARAMS_ERR_MODE, Ucp.ERR_HANDLING_MODE_PEER);
            p.set(ADDRESS, Ucp.EP_PARAMS_ERR_HANDLER_CB, errorHandler());
            p.set(ADDRESS, Ucp.EP_PARAMS_ERR_HANDLER_ARG, MemorySegment.ofAddress(peer.id));
            p.set(ADDRESS, Ucp.EP_PARAMS_NAME, local.allocateFrom("ferry:" + agent + "->" + peer.name));
            final MemorySegment out = local.allocate(ADDRESS);
            int st = peerErrorsPossible ? (int)Ucp.EP_CREATE.invokeExact(worker, p, out) : Ucp.UCS_ERR_UNREACHABLE;
            if (Ucp.UCS_ERR_UNREACHABLE == st)
            {
                // UCX's shared-memory transports cannot detect a failed peer, so with them alone an endpoint that
                // asks for peer error handling is "unreachable": make it without, and let timeout_ms be the guard
                p.set(JAVA_LONG, 0, Ucp.EP_PARAM_FIELD_REMOTE_ADDRESS | Ucp.EP_PARAM_FIELD_NAME);
                st = (int)Ucp.EP_CREATE.invokeExact(worker, p, out);
                if (Ucp.UCS_OK == st && !warnedNoPeerErrors)
                {
                    warnedNoPeerErrors = true;
                    LOG.log(System.Logger.Level.INFO, "UCX of agent " + agent + " reaches peer " + peer.name +
                        " only over transports without peer failure detection (shared memory alone); a dead peer" +
                        " is found by timeout_ms=" + config.timeoutMillis() + " instead. Add tcp to UCX_TLS to " +
                        "have UCX detect it");
                }
            }
            if (Ucp.UCS_OK != st)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "UCX cannot reach peer '" + peer.name +
                    "' from agent '" + agent + "': ucp_ep_create: " + Ucp.statusString(st));
            }
            peer.endpoint = out.get(ADDRESS, 0);
            peer.endpointEpoch++;
            peer.failure = null;
            return peer.endpoint;
        }
        catch (final Throwable t)
        {
            throw Ucp.rethrow(t);
        }
    }

    /**
     * Closes the peer's endpoint and destroys the rkeys unpacked for it (worker thread), waiting for the close
     * within the deadline so that nothing of the endpoint outlives it. A live peer's endpoint is closed gracefully
     * (what is in flight and the connection's own handshake finish first: UCX 1.13 aborts the process when a peer's
     * connection breaks in the middle of its handshake); a failed one at once.
     */
    void closeEndpoint(final UcxPeer peer, final boolean graceful)
    {
        try
        {
            for (final UcxRemoteRegion r : peer.unpacked)
            {
                if (!MemorySegment.NULL.equals(r.rkey))
                {
                    Ucp.RKEY_DESTROY.invokeExact(r.rkey);
                    r.rkey = MemorySegment.NULL;
                    r.endpointEpoch = -1;
                }
            }
            peer.unpacked.clear();
            if (!MemorySegment.NULL.equals(peer.endpoint))
            {
                final MemorySegment ep = peer.endpoint;
                peer.endpoint = MemorySegment.NULL;
                // a local, not a conditional expression: invokeExact takes an argument's static type, and a
                // conditional in that position is typed Object
                final MemorySegment how = graceful ? gracefulCloseParam : closeParam;
                final long req = (long)Ucp.EP_CLOSE_NBX.invokeExact(ep, how);
                if (Ucp.status(req) == Ucp.UCS_INPROGRESS)
                {
                    final long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMillis());
                    while (Ucp.UCS_INPROGRESS == (int)Ucp.REQUEST_CHECK_STATUS.invokeExact(req) &&
                        System.nanoTime() < until)
                    {
                        final int ignore = (int)Ucp.WORKER_PROGRESS.invokeExact(worker);
                    }
                    Ucp.REQUEST_FREE.invokeExact(req);
                }
            }
        }
        catch (final Throwable t)
        {
            throw Ucp.rethrow(t);
        }
    }

    /** Forgets a peer for good: its endpoint closes and its errors are no longer reported (worker thread). */
    void dropPeer(final UcxPeer peer, final String reason)
    {
        failPosts(peer, new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + peer.name + "' " + reason));
        closeEndpoint(peer, null == peer.failure);
        peersById.remove(peer.id);
    }

    private MemorySegment rkey(final UcxRemoteRegion r, final UcxPeer peer, final MemorySegment ep) throws Throwable
    {
        if (r.endpointEpoch == peer.endpointEpoch && !MemorySegment.NULL.equals(r.rkey))
        {
            return r.rkey;
        }
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment out = local.allocate(ADDRESS);
            final int st = (int)Ucp.EP_RKEY_UNPACK.invokeExact(ep, local.allocateFrom(JAVA_BYTE, r.packedRkey), out);
            if (Ucp.UCS_OK != st)
            {
                throw new FerryException(ErrorCode.MISMATCH, "UCX cannot use the rkey of " + r + ": " +
                    Ucp.statusString(st));
            }
            r.rkey = out.get(ADDRESS, 0);
            r.endpointEpoch = peer.endpointEpoch;
            peer.unpacked.add(r);
            return r.rkey;
        }
    }

    // ------------------------------------------------------------------------------------------ posts

    /** Starts a post: every span's put or get, then the flush (worker thread). */
    void start(final UcxRequest request, final byte[] notification)
    {
        final Post post = new Post(request, notification, System.nanoTime() +
            TimeUnit.MILLISECONDS.toNanos(config.timeoutMillis()));
        final UcxPeer peer = request.peer;
        if (null != peer.failure || !peersById.containsKey(peer.id))
        {
            request.sink.onFailure(new FerryException(ErrorCode.REMOTE_DISCONNECT, "UCX endpoint to peer '" +
                peer.name + "' failed: " + (null == peer.failure ? "the peer was dropped" : peer.failure)));
            return;
        }
        try
        {
            final MemorySegment ep = endpoint(peer);
            final boolean write = TransferOp.WRITE == request.op;
            final MemorySegment param = opParam;
            param.set(JAVA_INT, Ucp.REQUEST_PARAM_OP_ATTR_MASK, Ucp.OP_ATTR_FIELD_MEMH);
            for (int i = 0; i < request.lengths.length; i++)
            {
                final MemorySegment rkey = rkey(request.remoteRegions[i], peer, ep);
                param.set(ADDRESS, Ucp.REQUEST_PARAM_MEMH, request.localRegions[i].memh);
                final long st = write ?
                    (long)Ucp.PUT_NBX.invokeExact(ep, request.localAddresses[i], request.lengths[i],
                        request.remoteAddresses[i], rkey, param) :
                    (long)Ucp.GET_NBX.invokeExact(ep, request.localAddresses[i], request.lengths[i],
                        request.remoteAddresses[i], rkey, param);
                if (Ucp.isError(st))
                {
                    post.error = new FerryException(ErrorCode.REMOTE_DISCONNECT, "UCX " + (write ? "put" : "get") +
                        " of span " + i + " to peer '" + peer.name + "' failed: " + Ucp.statusString((int)st));
                    break;
                }
                if (0 != st)
                {
                    // completion is the flush's; the request is released when it completes
                    Ucp.REQUEST_FREE.invokeExact(st);
                }
            }
            post.stage = Post.FLUSH;
            post.ucxRequest = (long)Ucp.EP_FLUSH_NBX.invokeExact(ep, flushParam);
            inFlight.add(post);
        }
        catch (final FerryException ex)
        {
            request.sink.onFailure(ex);
        }
        catch (final Throwable t)
        {
            request.sink.onFailure(new FerryException(ErrorCode.BACKEND, "UCX post to peer '" + peer.name +
                "' failed: " + t, t));
        }
    }

    /** Sends a notification on its own (worker thread); failures are logged. */
    void sendNotification(final UcxPeer peer, final byte[] payload)
    {
        try
        {
            final MemorySegment ep = endpoint(peer);
            final MemorySegment buffers = Arena.ofAuto().allocate(AM_PAYLOAD_AT + Math.max(1, payload.length));
            final long st = sendAm(ep, buffers, payload);
            if (Ucp.isError(st))
            {
                LOG.log(System.Logger.Level.WARNING, "UCX notification from " + agent + " to " + peer.name +
                    " failed: " + Ucp.statusString((int)st));
            }
            else if (0 != st)
            {
                sends.add(new Send(st, buffers, peer.name));
            }
        }
        catch (final Throwable t)
        {
            throw Ucp.rethrow(t);
        }
    }

    /** A notification sent on its own, its buffers kept until UCX is done with them. */
    private record Send(long request, MemorySegment buffers, String peer)
    {
    }

    private final List<Send> sends = new ArrayList<>();

    private int advanceSends() throws Throwable
    {
        int work = 0;
        for (int i = sends.size() - 1; i >= 0; i--)
        {
            final Send send = sends.get(i);
            final int st = (int)Ucp.REQUEST_CHECK_STATUS.invokeExact(send.request());
            if (Ucp.UCS_INPROGRESS != st)
            {
                Ucp.REQUEST_FREE.invokeExact(send.request());
                sends.remove(i);
                work++;
                if (Ucp.UCS_OK != st)
                {
                    LOG.log(System.Logger.Level.WARNING, "UCX notification from " + agent + " to " + send.peer() +
                        " failed: " + Ucp.statusString(st));
                }
            }
        }
        return work;
    }

    /** This agent's notification header, encoded at the first notification (worker thread). */
    private byte[] notificationHeader;

    private long sendAm(final MemorySegment ep, final MemorySegment buffers, final byte[] payload) throws Throwable
    {
        if (null == notificationHeader)
        {
            notificationHeader = UcxWire.notificationHeader(agent);
        }
        final byte[] header = notificationHeader;
        MemorySegment.copy(header, 0, buffers, JAVA_BYTE, 0, header.length);
        MemorySegment.copy(payload, 0, buffers, JAVA_BYTE, AM_PAYLOAD_AT, payload.length);
        return (long)Ucp.AM_SEND_NBX.invokeExact(ep, UcxWire.AM_ID, buffers, (long)header.length,
            buffers.asSlice(AM_PAYLOAD_AT), (long)payload.length, amParam);
    }

    /** Moves posts on: completed flushes to their notification or to done; posts past their deadline fail. */
    private int advance(final long nowNs) throws Throwable
    {
        int work = 0;
        List<UcxPeer> expired = null;
        for (int i = inFlight.size() - 1; i >= 0; i--)
        {
            final Post p = inFlight.get(i);
            final int st = 0 == p.ucxRequest || Ucp.isError(p.ucxRequest) ? Ucp.status(p.ucxRequest) :
                (int)Ucp.REQUEST_CHECK_STATUS.invokeExact(p.ucxRequest);
            if (Ucp.UCS_INPROGRESS == st)
            {
                if (nowNs - p.deadlineNs > 0)
                {
                    inFlight.remove(i);
                    work++;
                    freeRequest(p.ucxRequest);
                    p.request.sink.onFailure(new FerryException(ErrorCode.REMOTE_DISCONNECT, timeoutReason(p)));
                    if (null == expired)
                    {
                        expired = new ArrayList<>();
                    }
                    expired.add(p.request.peer);
                }
                continue;
            }
            freeRequest(p.ucxRequest);
            p.ucxRequest = 0;
            work++;
            final UcxRequest r = p.request;
            if (Ucp.UCS_OK != st && null == p.error)
            {
                p.error = new FerryException(ErrorCode.REMOTE_DISCONNECT, "UCX " + (Post.FLUSH == p.stage ?
                    "flush of a " + (TransferOp.WRITE == r.op ? "WRITE" : "READ") : "notification") + " to peer '" +
                    r.peer.name + "' failed: " + Ucp.statusString(st));
            }
            if (null != p.error)
            {
                inFlight.remove(i);
                r.sink.onFailure(p.error);
            }
            else if (Post.FLUSH == p.stage && null != p.notification)
            {
                p.stage = Post.NOTIFY;
                p.amBuffers = Arena.ofAuto().allocate(AM_PAYLOAD_AT + Math.max(1, p.notification.length));
                p.ucxRequest = sendAm(r.peer.endpoint, p.amBuffers, p.notification);
                i++; // look at it again: an eager send often completes at once
            }
            else
            {
                inFlight.remove(i);
                r.sink.onComplete();
            }
        }
        if (null != expired)
        {
            // what UCX still has in flight for such a peer must not land later: its endpoint goes
            for (final UcxPeer peer : expired)
            {
                if (!MemorySegment.NULL.equals(peer.endpoint))
                {
                    endpointLost(peer, "no completion within " + config.timeoutMillis() + " ms");
                }
            }
        }
        return work;
    }

    private String timeoutReason(final Post p)
    {
        return "no completion from peer '" + p.request.peer.name + "' within " + config.timeoutMillis() +
            " ms (UCX " + (Post.FLUSH == p.stage ? "flush" : "notification") + " pending)";
    }

    private void freeRequest(final long req)
    {
        if (0 != req && !Ucp.isError(req))
        {
            try
            {
                Ucp.REQUEST_FREE.invokeExact(req);
            }
            catch (final Throwable t)
            {
                throw Ucp.rethrow(t);
            }
        }
    }

    private void failPosts(final UcxPeer peer, final FerryException error)
    {
        for (int i = inFlight.size() - 1; i >= 0; i--)
        {
            final Post p = inFlight.get(i);
            if (p.request.peer == peer)
            {
                inFlight.remove(i);
                freeRequest(p.ucxRequest);
                p.request.sink.onFailure(error);
            }
        }
    }

    private void endpointLost(final UcxPeer peer, final String reason)
    {
        failPosts(peer, new FerryException(ErrorCode.REMOTE_DISCONNECT, "UCX endpoint to peer '" + peer.name +
            "' failed: " + reason));
        closeEndpoint(peer, false);
        peer.failure = reason;
        inbound.endpointFailed(peer, reason);
    }

    // ------------------------------------------------------------------------------------------ upcalls

    /** UCX's endpoint error handler (called during progress, on this thread). */
    @SuppressWarnings("unused")
    private void onEndpointError(final MemorySegment arg, final MemorySegment ep, final int status)
    {
        try
        {
            final UcxPeer peer = peersById.get(arg.address());
            if (null != peer && null == peer.failure)
            {
                peer.failure = Ucp.statusString(status);
                failedEndpoints.add(peer);
            }
        }
        catch (final Throwable t)
        {
            LOG.log(System.Logger.Level.ERROR, "UCX error handler failed", t);
        }
    }

    /** UCX's active message handler for {@link UcxWire#AM_ID} (called during progress, on this thread). */
    @SuppressWarnings("unused")
    private int onActiveMessage(final MemorySegment arg, final MemorySegment header, final long headerLength,
        final MemorySegment data, final long length, final MemorySegment param)
    {
        try
        {
            final long flags = param.reinterpret(16).get(JAVA_LONG, 0);
            if (0 != (flags & Ucp.AM_RECV_ATTR_FLAG_RNDV))
            {
                LOG.log(System.Logger.Level.WARNING, "agent " + agent + " dropped a UCX notification sent by " +
                    "rendezvous (ferry sends them eagerly)");
                return Ucp.UCS_OK;
            }
            if (headerLength < 3 || headerLength > 3 + UcxWire.MAX_NAME_BYTES || length < 0 ||
                length > config.maxNotificationBytes())
            {
                LOG.log(System.Logger.Level.WARNING, "agent " + agent + " dropped a UCX notification with a " +
                    headerLength + "-byte header and " + length + " bytes (at most " + config.maxNotificationBytes() +
                    ")");
                return Ucp.UCS_OK;
            }
            final String sender = UcxWire.notificationSender(header.reinterpret(headerLength).toArray(JAVA_BYTE));
            if (null == sender)
            {
                LOG.log(System.Logger.Level.WARNING, "agent " + agent + " dropped a UCX active message that is " +
                    "not a ferry notification");
                return Ucp.UCS_OK;
            }
            final byte[] payload = 0 == length ? new byte[0] : data.reinterpret(length).toArray(JAVA_BYTE);
            inbound.notification(sender, payload);
        }
        catch (final Throwable t)
        {
            LOG.log(System.Logger.Level.ERROR, "UCX notification handler failed", t);
        }
        return Ucp.UCS_OK;
    }

    // ------------------------------------------------------------------------------------------ helpers

    /**
     * @param tls UCX_TLS as configured, or null.
     * @return false when it names only shared-memory and loopback transports (UCX then has nothing that detects
     * a failed peer); true otherwise, including unset, "all" and exclusions ("^...").
     */
    static boolean detectsPeerFailure(final String tls)
    {
        if (null == tls || tls.isBlank() || tls.startsWith("^"))
        {
            return true;
        }
        for (final String t : tls.split(","))
        {
            final String name = t.trim().toLowerCase(java.util.Locale.ROOT);
            if (!List.of("posix", "sysv", "cma", "knem", "xpmem", "sm", "shm", "self").contains(name))
            {
                return true;
            }
        }
        return false;
    }

    private static void check(final String call, final int status)
    {
        if (Ucp.UCS_OK != status)
        {
            throw new FerryException(ErrorCode.BACKEND, call + " failed: " + Ucp.statusString(status));
        }
    }

    /** Text UCX prints about its context: its transports and devices (worker thread). */
    String contextInfo()
    {
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment ptr = local.allocate(ADDRESS);
            final MemorySegment size = local.allocate(JAVA_LONG);
            final MemorySegment stream = (MemorySegment)Ucp.OPEN_MEMSTREAM.invokeExact(ptr, size);
            if (MemorySegment.NULL.equals(stream))
            {
                return "";
            }
            Ucp.CONTEXT_PRINT_INFO.invokeExact(context, stream);
            final int ignore = (int)Ucp.FCLOSE.invokeExact(stream);
            final MemorySegment text = ptr.get(ADDRESS, 0);
            final String s = new String(text.reinterpret(size.get(JAVA_LONG, 0)).toArray(JAVA_BYTE),
                StandardCharsets.UTF_8);
            Ucp.FREE.invokeExact(text);
            return s;
        }
        catch (final Throwable t)
        {
            throw Ucp.rethrow(t);
        }
    }
}
