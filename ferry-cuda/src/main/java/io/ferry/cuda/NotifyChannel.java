package io.ferry.cuda;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.spi.BackendContext;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Notifications between CUDA backends of agents on one host, over a Unix domain socket each agent listens on.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+-------------------------------+
 * |  kind (u8)    |  version (1)  |     sender length (u16)       |
 * +---------------+---------------+-------------------------------+
 * |                     reason length (u32)                       |
 * +---------------------------------------------------------------+
 * |                     payload length (u32)                      |
 * +---------------------------------------------------------------+
 * |  sender (UTF-8) ... | reason (UTF-8) ... | payload ...         |
 * +---------------------------------------------------------------+
 * </pre>
 * Kind 0 is a notification, kind 1 a failure notification (a push carrying it failed; the reason says why).
 * Big-endian. Lengths are checked (sender ≤ 255 B, reason ≤ 64 KiB, payload ≤ 16 MiB) before anything is
 * allocated; a bad frame closes its connection. The socket file is made in {@code notify_dir} with the user's
 * permissions and removed on close.
 */
final class NotifyChannel implements AutoCloseable
{
    static final byte DATA = 0;
    static final byte FAILURE = 1;
    private static final byte VERSION = 1;
    private static final int HEADER = 12;
    private static final int MAX_SENDER = 255;
    private static final int MAX_REASON = 64 << 10;
    private static final int MAX_PAYLOAD = 16 << 20;
    private static final System.Logger LOG = System.getLogger(NotifyChannel.class.getName());

    private final BackendContext context;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final List<SocketChannel> inbound = new CopyOnWriteArrayList<>();
    private final List<Thread> readers = new CopyOnWriteArrayList<>();
    private final Map<String, SocketChannel> outbound = new ConcurrentHashMap<>();
    private volatile boolean closed;

    NotifyChannel(final BackendContext context, final String dir) throws IOException
    {
        this.context = context;
        this.path = Path.of(dir, "ferry-cuda-" + ProcessHandle.current().pid() + "-" +
            Long.toHexString(System.nanoTime()) + ".sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        acceptor = new Thread(this::accept, "ferry-cuda-notify-" + context.agentName());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String path()
    {
        return path.toString();
    }

    private void accept()
    {
        while (!closed)
        {
            try
            {
                final SocketChannel ch = server.accept();
                inbound.add(ch);
                final Thread t = new Thread(() -> read(ch), "ferry-cuda-notify-in-" + context.agentName());
                t.setDaemon(true);
                readers.add(t);
                t.start();
            }
            catch (final IOException ex)
            {
                if (!closed)
                {
                    LOG.log(System.Logger.Level.WARNING, "CUDA notify listener of " + context.agentName() + " failed: " +
                        ex);
                }
                return;
            }
        }
    }

    private void read(final SocketChannel ch)
    {
        String sender = null;
        String why = "the connection closed";
        try
        {
            final ByteBuffer h = ByteBuffer.allocate(HEADER);
            while (!closed)
            {
                h.clear();
                readFully(ch, h);
                h.flip();
                final byte kind = h.get();
                final byte version = h.get();
                final int senderLength = h.getShort() & 0xFFFF;
                final int reasonLength = h.getInt();
                final int payloadLength = h.getInt();
                if (VERSION != version || (DATA != kind && FAILURE != kind) || senderLength > MAX_SENDER ||
                    reasonLength < 0 || reasonLength > MAX_REASON || payloadLength < 0 || payloadLength > MAX_PAYLOAD)
                {
                    why = "a malformed notification frame (kind " + kind + ", version " + version + ")";
                    LOG.log(System.Logger.Level.WARNING, "CUDA agent " + context.agentName() + " closes a notify " +
                        "connection after " + why);
                    return;
                }
                final ByteBuffer body = ByteBuffer.allocate(senderLength + reasonLength + payloadLength);
                readFully(ch, body);
                final byte[] b = body.array();
                sender = new String(b, 0, senderLength, StandardCharsets.UTF_8);
                final String reason = new String(b, senderLength, reasonLength, StandardCharsets.UTF_8);
                final byte[] payload = java.util.Arrays.copyOfRange(b, senderLength + reasonLength, b.length);
                if (FAILURE == kind)
                {
                    context.deliverFailureNotification(sender, payload, reason);
                }
                else
                {
                    context.deliverNotification(sender, payload);
                }
            }
        }
        catch (final IOException ex)
        {
            why = "the connection ended: " + ex.getMessage();
        }
        finally
        {
            closeQuietly(ch);
            inbound.remove(ch);
            readers.remove(Thread.currentThread());
            if (null != sender && !closed)
            {
                context.peerConnectionsLost(sender, why);
            }
        }
    }

    private static void readFully(final SocketChannel ch, final ByteBuffer b) throws IOException
    {
        while (b.hasRemaining())
        {
            if (ch.read(b) < 0)
            {
                throw new EOFException("closed by the peer");
            }
        }
    }

    /**
     * Sends a notification to the peer listening at {@code peerPath}.
     *
     * @throws FerryException REMOTE_DISCONNECT when the peer cannot be reached.
     */
    void send(final String peer, final String peerPath, final byte kind, final String reason, final byte[] payload)
    {
        final byte[] s = context.agentName().getBytes(StandardCharsets.UTF_8);
        final byte[] r = null == reason ? new byte[0] : reason.getBytes(StandardCharsets.UTF_8);
        if (payload.length > MAX_PAYLOAD)
        {
            throw FerryException.invalid("a notification carries at most " + MAX_PAYLOAD + " bytes, got " +
                payload.length);
        }
        final ByteBuffer frame = ByteBuffer.allocate(HEADER + s.length + r.length + payload.length);
        frame.put(kind).put(VERSION).putShort((short)s.length).putInt(r.length).putInt(payload.length).put(s).put(r)
            .put(payload).flip();
        try
        {
            final SocketChannel ch = outbound.computeIfAbsent(peer, p -> open(peer, peerPath));
            synchronized (ch)
            {
                while (frame.hasRemaining())
                {
                    ch.write(frame);
                }
            }
        }
        catch (final IOException | java.io.UncheckedIOException ex)
        {
            final SocketChannel stale = outbound.remove(peer);
            if (null != stale)
            {
                closeQuietly(stale);
            }
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "CUDA cannot notify peer '" + peer + "' at " +
                peerPath + ": " + ex.getMessage());
        }
    }

    private static SocketChannel open(final String peer, final String peerPath)
    {
        try
        {
            return SocketChannel.open(UnixDomainSocketAddress.of(peerPath));
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException("cannot connect to " + peerPath + " of '" + peer + "'", ex);
        }
    }

    void forget(final String peer)
    {
        final SocketChannel ch = outbound.remove(peer);
        if (null != ch)
        {
            closeQuietly(ch);
        }
    }

    private static void closeQuietly(final java.io.Closeable c)
    {
        try
        {
            c.close();
        }
        catch (final IOException ex)
        {
            // closing anyway
        }
    }

    public void close()
    {
        closed = true;
        closeQuietly(server);
        outbound.values().forEach(NotifyChannel::closeQuietly);
        outbound.clear();
        inbound.forEach(NotifyChannel::closeQuietly);
        final List<Thread> all = new ArrayList<>(readers);
        all.add(acceptor);
        for (final Thread t : all)
        {
            try
            {
                t.join(2_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        try
        {
            Files.deleteIfExists(path);
        }
        catch (final IOException ex)
        {
            // a stale socket file in the temp directory
        }
    }
}
