package io.ferry.tcp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Opens one path to a peer: connects (bound to the path's local address, if any) and runs the initiator's side of
 * the handshake (CHALLENGE, HELLO, HELLO_OK or a refusal with its reason, the listener's proof of the shared secret),
 * all within {@code connect_timeout_ms}. Remembers what the peer announced it accepts.
 */
final class PathDialer
{
    private static final SecureRandom NONCES = new SecureRandom();

    private final TcpBackend backend;
    private final TcpConfig config;
    private final String peer;
    /** How many times each path index was connected (a FENCE names the connection it abandons by it). */
    private final AtomicIntegerArray generations;
    /** What the peer accepts, as its HELLO_OK said; null until a path connected. */
    private volatile Handshake.Limits peerLimits;

    /**
     * A connected, handshaken socket.
     *
     * @param channel     the socket, blocking.
     * @param generation  how many times this path index was connected, this time included.
     * @param description local and remote address, for messages.
     */
    record Dialed(SocketChannel channel, int generation, String description)
    {
    }

    PathDialer(final TcpBackend backend, final String peer)
    {
        this.backend = backend;
        this.config = backend.config;
        this.peer = peer;
        this.generations = new AtomicIntegerArray(config.paths());
    }

    /** @return what the peer announced it accepts, or null before the first handshake (or when it announced none). */
    Handshake.Limits peerLimits()
    {
        return peerLimits;
    }

    /**
     * @param index  the path's slot (path i binds {@code local_addresses[i % n]}).
     * @param remote the peer's address.
     * @throws IOException naming why the connection or handshake failed; the socket is closed.
     */
    Dialed dial(final int index, final InetSocketAddress remote) throws IOException
    {
        final SocketChannel ch = SocketChannel.open();
        try
        {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            backend.tune(ch);
            if (!config.localAddresses().isEmpty())
            {
                ch.bind(new InetSocketAddress(config.localAddresses().get(index % config.localAddresses().size()), 0));
            }
            backend.watchdog.deadline(ch, config.connectTimeoutMs());
            ch.socket().connect(remote, config.connectTimeoutMs());
            final int generation = generations.incrementAndGet(index);
            initiate(ch, index, generation, remote);
            backend.watchdog.clear(ch);
            return new Dialed(ch, generation, ch.getLocalAddress() + " -> " + remote);
        }
        catch (final ClosedChannelException ex)
        {
            backend.watchdog.clear(ch);
            BlockingSocketIo.closeQuietly(ch);
            throw new IOException("no connection and handshake within " + config.connectTimeoutMs() + " ms", ex);
        }
        catch (final IOException | RuntimeException ex)
        {
            backend.watchdog.clear(ch);
            BlockingSocketIo.closeQuietly(ch);
            throw ex;
        }
    }

    /** The initiator's side of the handshake (see {@link Handshake} for the frames). */
    private void initiate(final SocketChannel ch, final int index, final int generation,
        final InetSocketAddress remote) throws IOException
    {
        final ByteBuffer challenge = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY);
        // the header alone first: a listener of another protocol version is named, not waited on for more bytes
        BlockingSocketIo.readFully(ch, challenge.limit(Frames.HEADER_LENGTH));
        final String bad = Frames.checkHeader(challenge, Frames.CHALLENGE_BODY);
        if (null != bad || Frames.CHALLENGE != challenge.get(3) || Frames.CHALLENGE_BODY != challenge.getInt(4))
        {
            throw new IOException("not a ferry TCP listener of this version (" + (null == bad ? "no challenge" : bad) +
                ")");
        }
        BlockingSocketIo.readFully(ch, challenge.limit(challenge.capacity()));
        final byte[] nonce = new byte[Frames.CHALLENGE_LENGTH];
        challenge.position(Frames.HEADER_LENGTH).get(nonce);
        final byte[] ours = new byte[Frames.CHALLENGE_LENGTH];
        NONCES.nextBytes(ours);
        BlockingSocketIo.writeFully(ch, Handshake.hello(backend.agentName(), peer, index,
            Handshake.mac(config.authSecret(), nonce, backend.agentName(), peer), ours, generation));
        final ByteBuffer reply = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.REPLY_FIXED);
        BlockingSocketIo.readFully(ch, reply); // HELLO_OK, or an ACK that says why not: both at least this long
        if (Frames.HELLO_OK != reply.get(3) || Frames.EMPTY_BODY != reply.getInt(4))
        {
            final int len = Math.clamp(reply.getInt(Frames.HEADER_LENGTH + 8), 0, Frames.MAX_REASON);
            final ByteBuffer why = ByteBuffer.allocate(len);
            BlockingSocketIo.readFully(ch, why);
            throw new IOException("peer refused the handshake: " + (0 == len ? "no reason" :
                new String(why.array(), StandardCharsets.UTF_8)));
        }
        if (null != config.authSecret() && !Handshake.macMatches(Handshake.targetProof(config.authSecret(), ours,
            nonce, peer, backend.agentName()), Handshake.Limits.proof(reply)))
        {
            throw new IOException("the listener at " + remote + " did not prove auth_secret as agent '" + peer +
                "' (a wrong secret, or not that agent): nothing was sent to it");
        }
        final Handshake.Limits limits = Handshake.Limits.parse(reply);
        if (null != limits)
        {
            peerLimits = limits; // a HELLO_OK without them (all zero) leaves this agent's own limits in force
        }
    }
}
