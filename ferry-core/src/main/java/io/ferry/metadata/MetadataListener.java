package io.ferry.metadata;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An agent's embedded metadata listener: answers LOAD, FETCH and INVALIDATE requests (NIXL's socket exchange).
 * One acceptor thread; each connection is served on a virtual thread with a read deadline, so a silent or slow
 * peer holds nothing for long. Hostile input ends that connection with a logged reason and nothing else.
 */
public final class MetadataListener implements AutoCloseable
{
    private static final System.Logger LOG = System.getLogger(MetadataListener.class.getName());

    private final String agentName;
    private final ServerSocket server;
    private final Function<byte[], String> onLoad;
    private final Supplier<byte[]> onFetch;
    private final Consumer<String> onInvalidate;
    private final int timeoutMs;
    private final Thread acceptor;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * Binds and starts serving.
     *
     * @param agentName    the owning agent, for logs.
     * @param bind         address and port to bind (port 0: any free port).
     * @param timeout      deadline for reading one request.
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
        this.agentName = agentName;
        this.onLoad = onLoad;
        this.onFetch = onFetch;
        this.onInvalidate = onInvalidate;
        this.timeoutMs = Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
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
            s.setSoTimeout(timeoutMs);
            final DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
            final ExchangeFrames.Frame request = ExchangeFrames.read(in);
            try
            {
                switch (request.type())
                {
                    case ExchangeFrames.LOAD ->
                    {
                        onLoad.apply(request.body());
                        ExchangeFrames.write(out, ExchangeFrames.OK, new byte[0]);
                    }
                    case ExchangeFrames.FETCH -> ExchangeFrames.write(out, ExchangeFrames.LOAD, onFetch.get());
                    case ExchangeFrames.INVALIDATE ->
                    {
                        onInvalidate.accept(new String(request.body(), StandardCharsets.UTF_8));
                        ExchangeFrames.write(out, ExchangeFrames.OK, new byte[0]);
                    }
                    default -> throw new IOException("a " + request.type() + " frame is not a request");
                }
            }
            catch (final FerryException ex)
            {
                LOG.log(System.Logger.Level.DEBUG, () -> "metadata request from " + remote + " refused: " + ex);
                ExchangeFrames.write(out, ExchangeFrames.ERROR, ExchangeFrames.error(ex));
            }
        }
        catch (final SocketException ex)
        {
            if (!closed)
            {
                LOG.log(System.Logger.Level.DEBUG, () -> "metadata connection from " + remote + " ended: " + ex);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            if (!closed)
            {
                LOG.log(System.Logger.Level.WARNING, "metadata listener of " + agentName + " closed a connection " +
                    "from " + remote + ": " + ex.getMessage());
            }
        }
        finally
        {
            open.remove(s);
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
