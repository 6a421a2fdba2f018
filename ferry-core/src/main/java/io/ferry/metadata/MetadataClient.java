package io.ferry.metadata;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The requesting side of the socket metadata exchange. Every call returns at once with a future that one virtual
 * thread completes: with the reply, or exceptionally with a {@link FerryException} (REMOTE_DISCONNECT when the
 * address cannot be reached, TIMED_OUT at the deadline, the peer's own error when it refused).
 */
public final class MetadataClient
{
    private MetadataClient()
    {
    }

    /**
     * Sends one request and reads its reply.
     *
     * @param address  the peer's metadata listener (may be unresolved: it is resolved on the request's thread).
     * @param type     LOAD, FETCH or INVALIDATE.
     * @param body     the request body.
     * @param deadline how long the whole exchange may take.
     * @param name     thread name, for diagnostics.
     * @return a future of the reply body: empty for OK, the metadata for FETCH.
     */
    static CompletableFuture<byte[]> request(
        final InetSocketAddress address,
        final byte type,
        final byte[] body,
        final Duration deadline,
        final String name,
        final byte[] secret)
    {
        final CompletableFuture<byte[]> result = new CompletableFuture<>();
        Thread.ofVirtual().name(name).start(() ->
        {
            final long end = System.nanoTime() + deadline.toNanos();
            try (Socket s = new Socket())
            {
                final InetSocketAddress resolved = address.isUnresolved() ?
                    new InetSocketAddress(address.getHostString(), address.getPort()) : address;
                if (resolved.isUnresolved())
                {
                    throw new IOException("cannot resolve host '" + address.getHostString() + "'");
                }
                s.connect(resolved, remainingMs(end));
                final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                final DataInputStream in = new DataInputStream(new BufferedInputStream(
                    new DeadlineInputStream(s, s.getInputStream(), end)));
                // without a secret there is nothing to prove: the request goes at once, as every listener takes it
                // (one with a secret refuses it, saying why)
                if (null != secret && !authenticate(in, out, secret, address, result))
                {
                    return;
                }
                ExchangeFrames.write(out, type, body);
                final ExchangeFrames.Frame reply = ExchangeFrames.read(in);
                switch (reply.type())
                {
                    case ExchangeFrames.OK, ExchangeFrames.LOAD -> result.complete(reply.body());
                    case ExchangeFrames.ERROR -> result.completeExceptionally(
                        ExchangeFrames.parseError(reply.body(), address.toString()));
                    default -> throw new IOException("unexpected reply type " + reply.type());
                }
            }
            catch (final SocketTimeoutException ex)
            {
                result.completeExceptionally(new FerryException(ErrorCode.TIMED_OUT, "no metadata reply from " +
                    address + " within " + deadline, ex));
            }
            catch (final IOException | RuntimeException ex)
            {
                result.completeExceptionally(new FerryException(ErrorCode.REMOTE_DISCONNECT, "metadata exchange " +
                    "with " + address + " failed: " + MetadataListener.describe(ex), ex));
            }
        });
        return result;
    }

    /**
     * The client's side of {@link ExchangeAuth}: false (with the result failed) when the listener refused or, with a
     * secret, did not prove it.
     */
    private static boolean authenticate(final DataInputStream in, final DataOutputStream out, final byte[] secret,
        final InetSocketAddress address, final CompletableFuture<byte[]> result) throws IOException
    {
        final byte[] nonce = ExchangeAuth.nonce();
        ExchangeFrames.write(out, ExchangeFrames.HELLO, nonce);
        final ExchangeFrames.Frame challenge = ExchangeFrames.read(in, 1024);
        if (ExchangeFrames.ERROR == challenge.type())
        {
            result.completeExceptionally(ExchangeFrames.parseError(challenge.body(), address.toString()));
            return false;
        }
        if (ExchangeFrames.CHALLENGE != challenge.type() || 2 * ExchangeFrames.NONCE != challenge.body().length)
        {
            throw new IOException("expected CHALLENGE, got type " + challenge.type());
        }
        final byte[] theirs = java.util.Arrays.copyOfRange(challenge.body(), 0, ExchangeFrames.NONCE);
        final byte[] proof = java.util.Arrays.copyOfRange(challenge.body(), ExchangeFrames.NONCE,
            2 * ExchangeFrames.NONCE);
        if (null != secret && !ExchangeAuth.matches(ExchangeAuth.listenerProof(secret, nonce, theirs), proof))
        {
            result.completeExceptionally(new FerryException(ErrorCode.NOT_ALLOWED, "the metadata listener at " +
                address + " did not prove auth_secret: nothing was sent to it"));
            return false;
        }
        ExchangeFrames.write(out, ExchangeFrames.AUTH, ExchangeAuth.clientProof(secret, theirs, nonce));
        return true;
    }

    private static int remainingMs(final long endNs) throws SocketTimeoutException
    {
        final long ms = (endNs - System.nanoTime()) / 1_000_000;
        if (ms <= 0)
        {
            throw new SocketTimeoutException("deadline passed");
        }
        return (int)Math.min(ms, Integer.MAX_VALUE);
    }

    /**
     * @param address  the peer's listener.
     * @param metadata a blob to have it load.
     * @param deadline how long it may take.
     * @param name     thread name.
     * @return a future completed when the peer loaded it.
     */
    public static CompletableFuture<Void> send(
        final InetSocketAddress address, final byte[] metadata, final Duration deadline, final String name)
    {
        return send(address, metadata, deadline, name, null);
    }

    /**
     * @param address  the peer's listener.
     * @param metadata a blob to have it load.
     * @param deadline how long it may take.
     * @param name     thread name.
     * @param secret   the shared secret both sides prove, or null for none.
     * @return a future completed when the peer loaded it.
     */
    public static CompletableFuture<Void> send(final InetSocketAddress address, final byte[] metadata,
        final Duration deadline, final String name, final byte[] secret)
    {
        return request(address, ExchangeFrames.LOAD, metadata, deadline, name, secret).thenApply(b -> null);
    }

    /**
     * @param address  the peer's listener.
     * @param deadline how long it may take.
     * @param name     thread name.
     * @return a future of the peer's full metadata.
     */
    public static CompletableFuture<byte[]> fetch(final InetSocketAddress address, final Duration deadline,
        final String name)
    {
        return fetch(address, deadline, name, null);
    }

    /**
     * @param address  the peer's listener.
     * @param deadline how long it may take.
     * @param name     thread name.
     * @param secret   the shared secret both sides prove, or null for none.
     * @return a future of the peer's full metadata.
     */
    public static CompletableFuture<byte[]> fetch(final InetSocketAddress address, final Duration deadline,
        final String name, final byte[] secret)
    {
        return request(address, ExchangeFrames.FETCH, new byte[0], deadline, name, secret);
    }

    /**
     * @param address   the peer's listener.
     * @param agentName the agent the peer should drop.
     * @param deadline  how long it may take.
     * @param name      thread name.
     * @return a future completed when the peer dropped it.
     */
    public static CompletableFuture<Void> invalidate(
        final InetSocketAddress address, final String agentName, final Duration deadline, final String name)
    {
        return invalidate(address, agentName, deadline, name, null);
    }

    /**
     * @param address   the peer's listener.
     * @param agentName the agent the peer should drop.
     * @param deadline  how long it may take.
     * @param name      thread name.
     * @param secret    the shared secret both sides prove, or null for none.
     * @return a future completed when the peer dropped it.
     */
    public static CompletableFuture<Void> invalidate(final InetSocketAddress address, final String agentName,
        final Duration deadline, final String name, final byte[] secret)
    {
        return request(address, ExchangeFrames.INVALIDATE, agentName.getBytes(java.nio.charset.StandardCharsets.UTF_8),
            deadline, name, secret).thenApply(b -> null);
    }
}
