package io.ferry.tcp;

import io.ferry.MemoryKind;
import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import io.ferry.metadata.RegionRecord;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A listener that speaks the TCP backend's handshake (sending no proof of any secret) and then does what a test
 * asks with each data frame: a broken, frozen, lying or fake target for the initiator's side to face.
 */
final class FakeTarget implements AutoCloseable
{
    /** What the fake does with one data frame on one path. */
    enum Behaviour
    {
        /** Reads the frame and answers ACK OK (a WRITE target that works). */
        ACK,
        /** Reads the frame and never answers (a frozen or wedged target). */
        SWALLOW,
        /** Answers the frame with MALFORMED, chunk id 0, and closes the connection (a target that cannot parse it). */
        REFUSE_AND_CLOSE,
        /** Answers the connection's first data frame CRC_MISMATCH (bytes damaged on the way), later ones OK. */
        CRC_MISMATCH_ONCE,
        /** Answers every data frame CRC_MISMATCH (a link that damages everything). */
        CRC_MISMATCH_ALWAYS
    }

    /** Decides a path's behaviour from its index. */
    interface Plan
    {
        Behaviour forPath(int path);
    }

    final String name;
    final long key = 0x1234_5678_9ABC_DEFL;
    /** Data frames received (after handshakes). */
    final AtomicInteger dataFrames = new AtomicInteger();
    /** Bytes received after the HELLO on every connection. */
    final AtomicLong bytesAfterHello = new AtomicLong();
    private final ServerSocketChannel server;
    private final Plan plan;
    private final Thread acceptor;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();

    FakeTarget(final String name, final Plan plan) throws IOException
    {
        this.name = name;
        this.plan = plan;
        server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    /** @return metadata of an agent with one 64 MiB DRAM region, reachable at this fake's port. */
    byte[] metadata()
    {
        final int port = ((InetSocketAddress)localAddress()).getPort();
        return MetadataCodec.encode(new AgentMetadata(name, Map.of("TCP",
            Endpoints.encode(List.of(new InetSocketAddress("127.0.0.1", port)))),
            List.of(new RegionRecord("TCP", MemoryKind.DRAM, 0x7000_0000L, 64L << 20, 0, key, new byte[0],
                new byte[0]))));
    }

    private java.net.SocketAddress localAddress()
    {
        try
        {
            return server.getLocalAddress();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private void acceptLoop()
    {
        while (server.isOpen())
        {
            try
            {
                final SocketChannel ch = server.accept();
                open.add(ch);
                Thread.ofVirtual().start(() -> serve(ch));
            }
            catch (final IOException ex)
            {
                return;
            }
        }
    }

    private void serve(final SocketChannel ch)
    {
        try (ch)
        {
            final Handshake.Hello hello = acceptHello(ch, new Handshake.Limits(64 << 20, 1 << 20, 256));
            final ByteBuffer h = ByteBuffer.allocate(Frames.HEADER_LENGTH);
            final Behaviour behaviour = plan.forPath(hello.path());
            int frames = 0;
            while (true)
            {
                h.clear();
                BlockingSocketIo.readFully(ch, h);
                bytesAfterHello.addAndGet(Frames.HEADER_LENGTH);
                final int len = h.getInt(4);
                final long id = h.getLong(8);
                dataFrames.incrementAndGet();
                if (Behaviour.REFUSE_AND_CLOSE == behaviour)
                {
                    reply(ch, 0, Frames.MALFORMED, "this fake cannot parse anything");
                    return;
                }
                BlockingSocketIo.skip(ch, ByteBuffer.allocate(65536), len);
                bytesAfterHello.addAndGet(len);
                if (Behaviour.ACK == behaviour || (Behaviour.CRC_MISMATCH_ONCE == behaviour && ++frames > 1))
                {
                    reply(ch, id, Frames.OK, "");
                }
                else if (Behaviour.CRC_MISMATCH_ONCE == behaviour || Behaviour.CRC_MISMATCH_ALWAYS == behaviour)
                {
                    reply(ch, id, Frames.CRC_MISMATCH, "payload failed its CRC32C");
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            // the initiator went away or the fake was closed
        }
        finally
        {
            open.remove(ch);
        }
    }

    /**
     * A target's side of the handshake that proves no secret: a zero challenge, the initiator's HELLO read, HELLO_OK
     * with these limits and a zero proof.
     *
     * @return the HELLO.
     */
    static Handshake.Hello acceptHello(final SocketChannel ch, final Handshake.Limits limits) throws IOException
    {
        final ByteBuffer challenge = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY);
        Frames.putHeader(challenge, Frames.CHALLENGE, Frames.CHALLENGE_BODY, 0);
        BlockingSocketIo.writeFully(ch, Frames.putPadding(challenge.put(new byte[Frames.CHALLENGE_LENGTH])).flip());
        final ByteBuffer h = ByteBuffer.allocate(Frames.HEADER_LENGTH);
        BlockingSocketIo.readFully(ch, h);
        final ByteBuffer body = ByteBuffer.allocate(h.getInt(4));
        BlockingSocketIo.readFully(ch, body);
        final Handshake.Hello hello = Handshake.Hello.parse(body.flip());
        BlockingSocketIo.writeFully(ch, Handshake.helloOk(limits, new byte[Frames.MAC_LENGTH]));
        return hello;
    }

    private static void reply(final SocketChannel ch, final long id, final short status, final String reason)
        throws IOException
    {
        final byte[] text = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        final ByteBuffer b = ByteBuffer.allocate((int)(Frames.HEADER_LENGTH + Frames.replyBody(text.length)));
        Frames.putReplyPrefix(b, Frames.ACK, id, status, (short)0, 0, text.length).put(text);
        BlockingSocketIo.writeFully(ch, Frames.putPadding(b).flip());
    }

    public void close() throws IOException
    {
        server.close();
        for (final SocketChannel ch : open)
        {
            ch.close();
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
