package io.ferry.metadata;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An agent's embedded metadata listener: answers LOAD, FETCH and INVALIDATE requests (NIXL's socket exchange).
 * One acceptor thread; each connection is served on a virtual thread under one deadline for the whole request
 * (not per read: a trickling sender is cut at it). Resources a stranger can make it spend are bounded: at most
 * {@code maxConnections} connections at once (more are closed at accept), a body's buffer grows only as its bytes
 * arrive, and one client address may have at most {@code maxPeersPerClient} distinct agents loaded. With a secret,
 * every request must follow the mutual challenge-response of {@link ExchangeAuth}; without, anyone who reaches the
 * port may load, fetch and invalidate (the README's Security section). Hostile input ends that connection with a
 * logged reason and nothing else.
 */
public final class MetadataListener implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(MetadataListener.class.getName());
    /** Default cap on concurrent connections. */
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    /** Default cap on distinct agents one client address may load. */
    public static final int DEFAULT_MAX_PEERS_PER_CLIENT = 1024;

    private final String agentName;
    private final ServerSocket server;
    private final Function<byte[], String> onLoad;
    private final Supplier<byte[]> onFetch;
    private final Consumer<String> onInvalidate;
    private final int timeoutMs;
    private final byte[] secret;
    private final int maxConnections;
    private final int maxPeersPerClient;
    private final Thread acceptor;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Map<InetAddress, Set<String>> loadedBy = new HashMap<>();
    private final AtomicLong refused = new AtomicLong();
    /** Warnings strangers can trigger: at most 10 a second, the rest counted. */
    private final io.ferry.internal.LogThrottle warnings = new io.ferry.internal.LogThrottle(10, 1_000_000_000L);
    private volatile boolean closed;

    /**
     * Binds and starts serving, with no secret and the default caps.
     *
     * @param agentName    the owning agent, for logs.
     * @param bind         address and port to bind (port 0: any free port).
     * @param timeout      deadline for one whole request.
     * @param onLoad       loads a metadata blob, returns the peer name (throws FerryException to refuse).
     * @param onFetch      returns this agent's full metadata.
     * @param onInvalidate drops a peer by name.
     * @throws FerryException BACKEND when the address cannot be bound.
     */
    public MetadataListener(
        final String agentName,
        final InetSocketAddress bind,
        final Duration timeout,
        final Function<byte[], String> onLoad,
        final Supplier<byte[]> onFetch,
        final Consumer<String> onInvalidate)
    {
        this(agentName, bind, timeout, onLoad, onFetch, onInvalidate, null, DEFAULT_MAX_CONNECTIONS,
            DEFAULT_MAX_PEERS_PER_CLIENT);
    }

    /**
     * Binds and starts serving.
     *
     * @param agentName         the owning agent, for logs.
     * @param bind              address and port to bind (port 0: any free port).
     * @param timeout           deadline for one whole request.
     * @param onLoad            loads a metadata blob, returns the peer name (throws FerryException to refuse).
     * @param onFetch           returns this agent's full metadata.
     * @param onInvalidate      drops a peer by name.
     * @param secret            the shared secret every client must prove, or null for none.
     * @param maxConnections    most connections served at once.
     * @param maxPeersPerClient most distinct agents one client address may load.
     * @throws FerryException BACKEND when the address cannot be bound.
     */
    public MetadataListener(
        final String agentName,
        final InetSocketAddress bind,
        final Duration timeout,
        final Function<byte[], String> onLoad,
        final Supplier<byte[]> onFetch,
        final Consumer<String> onInvalidate,
        final byte[] secret,
        final int maxConnections,
        final int maxPeersPerClient)
    {
        this.agentName = agentName;
        this.onLoad = onLoad;
        this.onFetch = onFetch;
        this.onInvalidate = onInvalidate;
        this.timeoutMs = Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
        this.secret = null == secret || 0 == secret.length ? null : secret.clone();
        if (maxConnections < 1 || maxPeersPerClient < 1)
        {
            throw FerryException.invalid("metadata listener caps must be at least 1, got " + maxConnections +
                " connections and " + maxPeersPerClient + " peers per client");
        }
        this.maxConnections = maxConnections;
        this.maxPeersPerClient = maxPeersPerClient;
        try
        {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(bind, 128);
        }
        catch (final IOException ex)
        {
            throw new FerryException(ErrorCode.BACKEND, "agent '" + agentName + "' cannot listen for metadata on " +
                bind + ": " + ex.getMessage(), ex);
        }
        acceptor = new Thread(this::acceptLoop, "ferry-md-" + agentName + "-accept");
        acceptor.setDaemon(true);
        acceptor.setUncaughtExceptionHandler((t, ex) -> LOG.log(System.Logger.Level.ERROR, "metadata listener of " +
            agentName + ": thread " + t.getName() + " ended by " + ex, ex));
        acceptor.start();
    }

    /**
     * @return the bound address.
     */
    public InetSocketAddress address()
    {
        return (InetSocketAddress)server.getLocalSocketAddress();
    }

    private void acceptLoop()
    {
        while (!closed)
        {
            try
            {
                final Socket s = server.accept();
                if (open.size() >= maxConnections)
                {
                    closeQuietly(s);
                    if (0 == (refused.getAndIncrement() & 1023))
                    {
                        LOG.log(System.Logger.Level.WARNING, "metadata listener of " + agentName + " serves " +
                            maxConnections + " connections already; closing new ones at accept (" + refused.get() +
                            " so far)");
                    }
                    continue;
                }
                open.add(s);
                Thread.ofVirtual().name("ferry-md-" + agentName + "-conn").start(() -> serve(s));
            }
            catch (final IOException ex)
            {
                if (!closed)
                {
                    LOG.log(System.Logger.Level.WARNING, "metadata listener of " + agentName + ": accept failed: " + ex);
                }
            }
        }
    }

    private void serve(final Socket s)
    {
        final String remote = String.valueOf(s.getRemoteSocketAddress());
        try (s)
        {
            final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
            final DataInputStream in = new DataInputStream(new BufferedInputStream(
                new DeadlineInputStream(s, s.getInputStream(), deadline)));
            final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
            ExchangeFrames.Header request = ExchangeFrames.readHeader(in, ExchangeFrames.MAX_BODY);
            if (ExchangeFrames.HELLO == request.type())
            {
                if (!authenticate(in, out, request))
                {
                    return;
                }
                request = ExchangeFrames.readHeader(in, ExchangeFrames.MAX_BODY);
            }
            else if (null != secret)
            {
                refuse(out, remote, new FerryException(ErrorCode.NOT_ALLOWED, "the metadata listener of agent '" +
                    agentName + "' requires auth_secret: a request must follow its challenge-response"));
                // the body is read and dropped (no buffer of its size, within the deadline), so that closing with it
                // unread does not reset the connection before the client has read why
                s.shutdownOutput();
                in.skipNBytes(request.length());
                return;
            }
            if (request.type() < ExchangeFrames.LOAD || request.type() > ExchangeFrames.INVALIDATE)
            {
                throw new IOException("a " + request.type() + " frame is not a request");
            }
            final byte[] body = ExchangeFrames.readBody(in, request.length());
            try
            {
                switch (request.type())
                {
                    case ExchangeFrames.LOAD ->
                    {
                        load(s.getInetAddress(), body);
                        ExchangeFrames.write(out, ExchangeFrames.OK, new byte[0]);
                    }
                    case ExchangeFrames.FETCH -> ExchangeFrames.write(out, ExchangeFrames.LOAD, onFetch.get());
                    default ->
                    {
                        final String peer = new String(body, StandardCharsets.UTF_8);
                        onInvalidate.accept(peer);
                        forget(s.getInetAddress(), peer);
                        ExchangeFrames.write(out, ExchangeFrames.OK, new byte[0]);
                    }
                }
            }
            catch (final FerryException ex)
            {
                refuse(out, remote, ex);
            }
        }
        catch (final SocketException | java.io.EOFException | java.net.SocketTimeoutException ex)
        {
            if (!closed)
            {
                LOG.log(System.Logger.Level.DEBUG, () -> "metadata connection from " + remote + " ended: " +
                    describe(ex));
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            if (!closed)
            {
                warn("metadata listener of " + agentName + " closed a connection from " + remote + ": " +
                    io.ferry.internal.LogThrottle.printable(describe(ex), 300));
            }
        }
        finally
        {
            open.remove(s);
        }
    }

    /** Runs the listener's side of the challenge-response; false (after telling the client) when it failed. */
    private boolean authenticate(final DataInputStream in, final DataOutputStream out,
        final ExchangeFrames.Header hello) throws IOException
    {
        if (ExchangeFrames.NONCE != hello.length())
        {
            throw new IOException("HELLO of " + hello.length() + " bytes");
        }
        final byte[] clientNonce = ExchangeFrames.readBody(in, ExchangeFrames.NONCE);
        final byte[] nonce = ExchangeAuth.nonce();
        final byte[] challenge = new byte[2 * ExchangeFrames.NONCE];
        System.arraycopy(nonce, 0, challenge, 0, ExchangeFrames.NONCE);
        System.arraycopy(ExchangeAuth.listenerProof(secret, clientNonce, nonce), 0, challenge, ExchangeFrames.NONCE,
            ExchangeFrames.NONCE);
        ExchangeFrames.write(out, ExchangeFrames.CHALLENGE, challenge);
        final ExchangeFrames.Header auth = ExchangeFrames.readHeader(in, ExchangeFrames.NONCE);
        if (ExchangeFrames.AUTH != auth.type() || ExchangeFrames.NONCE != auth.length())
        {
            throw new IOException("expected AUTH after CHALLENGE, got type " + auth.type());
        }
        final byte[] proof = ExchangeFrames.readBody(in, ExchangeFrames.NONCE);
        if (null != secret && !ExchangeAuth.matches(ExchangeAuth.clientProof(secret, nonce, clientNonce), proof))
        {
            ExchangeFrames.write(out, ExchangeFrames.ERROR, ExchangeFrames.error(new FerryException(
                ErrorCode.NOT_ALLOWED, "authentication failed (wrong or missing auth_secret)")));
            warn("metadata listener of " + agentName + " refused a client that did not prove auth_secret");
            return false;
        }
        return true;
    }

    private void refuse(final DataOutputStream out, final String remote, final FerryException ex) throws IOException
    {
        LOG.log(System.Logger.Level.DEBUG, () -> "metadata request from " + remote + " refused: " + ex);
        ExchangeFrames.write(out, ExchangeFrames.ERROR, ExchangeFrames.error(ex));
    }

    /** Loads a blob for a client, within its cap of distinct agents. */
    private void load(final InetAddress client, final byte[] body)
    {
        final String peer = MetadataCodec.decode(body).name();
        synchronized (loadedBy)
        {
            final Set<String> names = loadedBy.computeIfAbsent(client, k -> new HashSet<>());
            if (!names.contains(peer) && names.size() >= maxPeersPerClient)
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, "client " + client.getHostAddress() + " has loaded " +
                    names.size() + " agents into '" + agentName + "' already (the cap per client address)");
            }
        }
        final String loaded = onLoad.apply(body);
        synchronized (loadedBy)
        {
            loadedBy.computeIfAbsent(client, k -> new HashSet<>()).add(loaded);
        }
    }

    private void forget(final InetAddress client, final String peer)
    {
        synchronized (loadedBy)
        {
            final Set<String> names = loadedBy.get(client);
            if (null != names && names.remove(peer) && names.isEmpty())
            {
                loadedBy.remove(client);
            }
        }
    }

    private void warn(final String message)
    {
        final long held = warnings.admit(System.nanoTime());
        if (held >= 0)
        {
            LOG.log(System.Logger.Level.WARNING, 0 == held ? message :
                message + " (" + held + " similar lines held back)");
        }
    }

    /** @return what ended a connection, for a log line (an end of stream has no message of its own). */
    static String describe(final Exception ex)
    {
        if (ex instanceof java.io.EOFException)
        {
            return null == ex.getMessage() ? "the client closed the connection mid-frame" : ex.getMessage();
        }
        return null == ex.getMessage() ? ex.getClass().getSimpleName() : ex.getMessage();
    }

    private static void closeQuietly(final Socket s)
    {
        try
        {
            s.close();
        }
        catch (final IOException ignore)
        {
            // closing anyway
        }
    }

    /**
     * Stops accepting and closes every open connection.
     */
    public void close()
    {
        closed = true;
        try
        {
            server.close();
        }
        catch (final IOException ignore)
        {
            // closing anyway
        }
        for (final Socket s : open)
        {
            try
            {
                s.close();
            }
            catch (final IOException ignore)
            {
                // closing anyway
            }
        }
        try
        {
            acceptor.join(5000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
