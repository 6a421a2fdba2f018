package io.ferry.tcp;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * The target side of one connection: handshake, then WRITE, READ_REQ and NOTIFY frames served in order on one
 * thread. Every span is checked against the registered regions before a byte moves; a refused request is answered
 * with a status and its payload skipped, a malformed frame closes the connection. Nothing a peer sends can make
 * this agent read or write outside a live registered region.
 */
final class InboundConnection implements Runnable
{
    private static final System.Logger LOG = System.getLogger(InboundConnection.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] NO_REASON = new byte[0];
    /** A NOTIFY body is read in pieces of at most this many bytes, its buffer growing only as bytes arrive. */
    private static final int NOTIFY_STEP = 64 * 1024;

    private final TcpBackend backend;
    private final SocketChannel channel;
    private final String remote;
    private final TcpConfig config;
    // the buffers below are allocated once the peer has passed the handshake, and freed when the connection ends
    private Arena arena;
    private ByteBuffer header;
    private ByteBuffer spans;
    private ByteBuffer reply;
    /** Zero bytes written after a payload; nothing writes into it. */
    private ByteBuffer padOut;
    /** The padding read after a payload. */
    private ByteBuffer padIn;
    private final ByteBuffer[] replyPair = new ByteBuffer[2];
    private ByteBuffer scratch;
    private ViewCache views;
    private String initiator = "?";
    /** The initiator's path index and that path's connection generation, from its HELLO. */
    private int pathIndex = -1;
    private int generation;
    /** Held while a frame is applied; {@link #fence()} takes it to wait for the frame in progress. */
    private final java.util.concurrent.locks.ReentrantLock applying = new java.util.concurrent.locks.ReentrantLock();
    /** Set by {@link #fence()}: this connection applies nothing more. */
    private volatile boolean fenced;
    /** Set once the handshake passed (by this connection's thread; read when it ends). */
    private boolean passedHandshake;

    InboundConnection(final TcpBackend backend, final SocketChannel channel, final String remote)
    {
        this.backend = backend;
        this.config = backend.config;
        this.channel = channel;
        this.remote = remote;
    }

    public void run()
    {
        String authenticated = null;
        String endReason = "the connection closed";
        try
        {
            if (!handshake())
            {
                return;
            }
            authenticated = initiator;
            allocateBuffers();
            backend.pathConnected(this);
            while (serveOne())
            {
                backend.watchdog.clear(channel);
            }
        }
        catch (final IOException ex)
        {
            endReason = "the connection ended: " + BlockingSocketIo.describe(ex);
            if (!backend.closing())
            {
                LOG.log(System.Logger.Level.DEBUG, () -> "TCP agent " + backend.agentName() + ": connection from " +
                    initiator + " at " + remote + " ended: " + BlockingSocketIo.describe(ex));
            }
        }
        catch (final RuntimeException ex)
        {
            endReason = "the connection failed: " + ex;
            LOG.log(System.Logger.Level.WARNING, "TCP agent " + backend.agentName() + ": closing connection from " +
                initiator + " at " + remote + ": " + ex, ex);
        }
        finally
        {
            if (applying.isHeldByCurrentThread())
            {
                applying.unlock();
            }
            backend.pathEnded(this);
            backend.watchdog.clear(channel);
            BlockingSocketIo.closeQuietly(channel);
            if (null != views)
            {
                views.close();
            }
            if (null != arena)
            {
                arena.close();
            }
            backend.inboundClosed(this, authenticated, endReason);
        }
    }

    private void allocateBuffers()
    {
        arena = Arena.ofShared();
        header = arena.allocate(Frames.HEADER_LENGTH + Frames.CHUNK_FIXED, Frames.ALIGN).asByteBuffer();
        spans = arena.allocate((long)config.maxSpansPerChunk() * Frames.SPAN_LENGTH + Frames.ALIGN, Frames.ALIGN)
            .asByteBuffer();
        reply = arena.allocate(Frames.HEADER_LENGTH + Frames.REPLY_FIXED + Frames.MAX_REASON + Frames.ALIGN,
            Frames.ALIGN).asByteBuffer();
        padOut = arena.allocate(Frames.ALIGN, Frames.ALIGN).asByteBuffer();
        padIn = arena.allocate(Frames.ALIGN, Frames.ALIGN).asByteBuffer();
        scratch = arena.allocate(64 * 1024, Frames.ALIGN).asByteBuffer();
        // a span crosses at most a few region windows: a frame's bytes are bounded by max_frame_bytes (< 2 GiB)
        views = new ViewCache(2 * config.maxSpansPerChunk() + 4, backend.deviceMemory);
    }

    void close()
    {
        BlockingSocketIo.closeQuietly(channel);
    }

    /** A warning strangers can trigger: at most a few a second per backend, the rest counted. */
    private void warn(final String message)
    {
        final long held = backend.refusalLog.admit(System.nanoTime());
        if (held >= 0)
        {
            LOG.log(System.Logger.Level.WARNING, 0 == held ? message :
                message + " (" + held + " similar lines held back)");
        }
    }

    /** @return the key of the initiator's path this connection is: its name and path index. */
    String pathKey()
    {
        return initiator + '\0' + pathIndex;
    }

    int generation()
    {
        return generation;
    }

    String initiator()
    {
        return initiator;
    }

    /**
     * The initiator abandoned this connection (it moved its chunks to other paths): close it and return only once it
     * can apply nothing more, waiting for a frame it is applying now. Called from another connection's thread.
     */
    void fence()
    {
        fenced = true;
        BlockingSocketIo.closeQuietly(channel);
        try
        {
            // bounded: two connections fencing each other (only a hostile peer would) must not wedge both threads;
            // once fenced, this connection applies no frame after the one in progress, whatever the wait's outcome
            if (applying.tryLock(config.frameTimeoutMs(), java.util.concurrent.TimeUnit.MILLISECONDS))
            {
                applying.unlock();
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    void markAuthenticated()
    {
        passedHandshake = true;
    }

    boolean authenticated()
    {
        return passedHandshake;
    }

    private boolean handshake() throws IOException
    {
        backend.watchdog.deadline(channel, config.connectTimeoutMs());
        final byte[] nonce = new byte[Frames.CHALLENGE_LENGTH];
        RANDOM.nextBytes(nonce);
        final ByteBuffer challenge = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY);
        Frames.putHeader(challenge, Frames.CHALLENGE, Frames.CHALLENGE_BODY, 0);
        BlockingSocketIo.writeFully(channel, Frames.putPadding(challenge.put(nonce)).flip());

        final ByteBuffer h = ByteBuffer.allocate(Frames.HEADER_LENGTH);
        BlockingSocketIo.readFully(channel, h);
        final String bad = Frames.checkHeader(h, Handshake.helloBody(Frames.MAX_NAME, Frames.MAX_NAME));
        if (null != bad || Frames.HELLO != h.get(3))
        {
            return refuse(null == bad ? "expected HELLO, got " + Frames.typeName(h.get(3)) : bad);
        }
        final ByteBuffer body = ByteBuffer.allocate(h.getInt(4)); // at most a few KiB, checked just above
        BlockingSocketIo.readFully(channel, body);
        final Handshake.Hello hello;
        try
        {
            hello = Handshake.Hello.parse(body.flip());
        }
        catch (final IllegalArgumentException | java.nio.BufferUnderflowException ex)
        {
            return refuse("malformed HELLO: " + ex.getMessage());
        }
        initiator = hello.initiator();
        pathIndex = hello.path();
        generation = hello.generation();
        if (!backend.agentName().equals(hello.target()))
        {
            return refuse("this is agent '" + backend.agentName() + "', not '" +
                io.ferry.internal.LogThrottle.printable(hello.target(), 128) + "'");
        }
        final byte[] secret = config.authSecret();
        if (null != secret && !Handshake.macMatches(
            Handshake.mac(secret, nonce, hello.initiator(), hello.target()), hello.mac()))
        {
            return refuse("authentication failed (wrong or missing auth_secret)");
        }
        final String full = backend.inboundAuthenticated(this, initiator);
        if (null != full)
        {
            return refuse(full);
        }
        final Handshake.Limits limits = new Handshake.Limits(config.maxFrameBytes(), config.maxNotificationBytes(),
            config.maxSpansPerChunk());
        BlockingSocketIo.writeFully(channel, Handshake.helloOk(limits,
            Handshake.targetProof(secret, hello.nonce(), nonce, backend.agentName(), hello.initiator())));
        backend.watchdog.clear(channel);
        return true;
    }

    private boolean refuse(final String reason) throws IOException
    {
        warn("TCP agent " + backend.agentName() + " refused the connection of " +
            initiator + " at " + remote + ": " + reason);
        final byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        final int len = Math.min(text.length, Frames.MAX_REASON);
        final ByteBuffer b = ByteBuffer.allocate((int)(Frames.HEADER_LENGTH + Frames.replyBody(len)));
        Frames.putReplyPrefix(b, Frames.ACK, 0, Frames.MALFORMED, (short)0, 0, len).put(text, 0, len);
        BlockingSocketIo.writeFully(channel, Frames.putPadding(b).flip());
        return false;
    }

    /**
     * Serves one frame; false when the connection should close. Waiting for a frame's first byte has no deadline
     * (an idle connection is fine); from then on the whole frame and its reply must be done within
     * {@code frame_timeout_ms}, else the watchdog closes the connection.
     */
    private boolean serveOne() throws IOException
    {
        header.clear().limit(Frames.HEADER_LENGTH);
        while (0 == header.position())
        {
            if (channel.read(header) < 0)
            {
                throw new java.io.EOFException("connection closed by the peer");
            }
        }
        backend.watchdog.deadline(channel, config.frameTimeoutMs());
        applying.lock();
        try
        {
            if (fenced)
            {
                return false; // abandoned by its initiator: nothing more is applied
            }
            BlockingSocketIo.readFully(channel, header);
            final String bad = Frames.checkHeader(header, config.maxFrameBytes());
            if (null != bad)
            {
                return protocolError(bad);
            }
            final int type = header.get(3);
            final int body = header.getInt(4);
            final long id = header.getLong(8);
            return switch (type)
            {
                case Frames.WRITE, Frames.READ_REQ -> serveChunk(type, body, id);
                case Frames.NOTIFY -> serveNotify(body, id);
                case Frames.FENCE -> serveFence(body, id);
                case Frames.CLOSE -> false;
                default -> protocolError("unexpected " + Frames.typeName(type) + " from an initiator");
            };
        }
        finally
        {
            applying.unlock();
        }
    }

    private boolean serveFence(final int body, final long id) throws IOException
    {
        if (Frames.EMPTY_BODY != body)
        {
            return protocolError("FENCE body of " + body + " bytes");
        }
        spans.clear().limit(body);
        BlockingSocketIo.readFully(channel, spans);
        final int path = Short.toUnsignedInt(spans.getShort(0));
        final int gen = spans.getInt(4);
        backend.fence(this, initiator, path, gen);
        sendReply(Frames.ACK, id, Frames.OK, "");
        return true;
    }

    private boolean serveChunk(final int type, final int body, final long id) throws IOException
    {
        if (body < Frames.CHUNK_FIXED)
        {
            return protocolError(Frames.typeName(type) + " body of " + body + " bytes is too short");
        }
        header.limit(Frames.HEADER_LENGTH + Frames.CHUNK_FIXED);
        BlockingSocketIo.readFully(channel, header);
        final int count = Short.toUnsignedInt(header.getShort(Frames.HEADER_LENGTH));
        final int flags = header.getShort(Frames.HEADER_LENGTH + 2);
        final int expectedCrc = header.getInt(Frames.HEADER_LENGTH + 4);
        final boolean write = Frames.WRITE == type;
        final byte replyType = write ? Frames.ACK : Frames.READ_DATA;
        if (0 == count || count > Frames.MAX_SPANS || Frames.chunkPrefix(count) - Frames.HEADER_LENGTH > body)
        {
            return protocolError(Frames.typeName(type) + " with " + count + " spans does not fit its " + body +
                "-byte body");
        }
        if (count > config.maxSpansPerChunk())
        {
            // well framed but over this target's limit: refused, the frame's rest skipped, the connection kept
            BlockingSocketIo.skip(channel, scratch, body - Frames.CHUNK_FIXED);
            return refuseRequest(type, id, Frames.OVER_LIMIT, Frames.typeName(type) + " of " + count +
                " spans exceeds this agent's max_spans_per_chunk " + config.maxSpansPerChunk());
        }
        spans.clear().limit(Frames.chunkPrefix(count) - Frames.HEADER_LENGTH - Frames.CHUNK_FIXED); // and padding
        BlockingSocketIo.readFully(channel, spans);
        final long payload = body - (Frames.chunkPrefix(count) - Frames.HEADER_LENGTH); // with its padding
        long total = 0;
        short status = Frames.OK;
        String reason = "";
        final RegionTable table = backend.regions();
        TcpRegion last = null;
        for (int i = 0; i < count; i++)
        {
            final int at = i * Frames.SPAN_LENGTH;
            final long key = spans.getLong(at);
            final long offset = spans.getLong(at + 8);
            final long length = Integer.toUnsignedLong(spans.getInt(at + 16));
            total += length; // at most 4096 spans of < 2^32 bytes: no overflow
            if (Frames.OK != status)
            {
                continue;
            }
            final TcpRegion r = null != last && last.key == key ? last : table.get(key);
            if (null == r || !r.live)
            {
                status = Frames.BAD_REGION;
                reason = "span " + i + ": no registered region has key " + Long.toHexString(key);
            }
            else if (!r.contains(offset, length))
            {
                status = Frames.OUT_OF_BOUNDS;
                reason = "span " + i + ": [" + offset + ", +" + length + ") lies outside " + r;
            }
            else if (!r.memoryAlive())
            {
                status = Frames.MEMORY_FREED;
                reason = "span " + i + ": the memory of " + r + " was freed (its arena is closed)";
            }
            last = r;
        }
        if ((write && Frames.aligned(total) != payload) || (!write && 0 != payload))
        {
            return protocolError(Frames.typeName(type) + " spans add up to " + total + " bytes but " + payload +
                " payload and padding bytes follow");
        }
        if (!write && Frames.OK == status && Frames.replyBody(total) > config.maxFrameBytes())
        {
            status = Frames.OVER_LIMIT;
            reason = "READ of " + total + " bytes would need a reply larger than this agent's max_frame_bytes " +
                config.maxFrameBytes();
        }
        if (Frames.OK != status)
        {
            if (write)
            {
                BlockingSocketIo.skip(channel, scratch, payload); // the payload and its padding
            }
            return refuseRequest(type, id, status, reason);
        }
        views.begin(total);
        final int iov = fillViews(count, table);
        if (write)
        {
            if (!PayloadIo.receive(channel, views, iov, total, 0 != (flags & Frames.FLAG_CRC), expectedCrc, padIn))
            {
                warn("TCP agent " + backend.agentName() + ": chunk from " + initiator + " failed its CRC32C");
                sendReply(Frames.ACK, id, Frames.CRC_MISMATCH, "payload failed its CRC32C");
                return true;
            }
            sendReply(Frames.ACK, id, Frames.OK, ""); // VRAM spans are in place before the ACK
            return true;
        }
        final boolean useCrc = 0 != (flags & Frames.FLAG_CRC) || backend.config.crc32c();
        Frames.putReplyPrefix(reply.clear(), Frames.READ_DATA, id, Frames.OK, useCrc ? Frames.FLAG_CRC : 0, 0,
            (int)total);
        PayloadIo.send(channel, reply, views, iov, total, useCrc, padOut, replyPair);
        return true;
    }

    private int fillViews(final int count, final RegionTable table)
    {
        int iov = 0;
        TcpRegion last = null;
        for (int i = 0; i < count; i++)
        {
            final int at = i * Frames.SPAN_LENGTH;
            final long key = spans.getLong(at);
            final TcpRegion r = null != last && last.key == key ? last : table.get(key);
            iov = TcpPath.addViews(views, iov, r, spans.getLong(at + 8), spans.getInt(at + 16));
            last = r;
        }
        return iov;
    }

    private boolean serveNotify(final int body, final long id) throws IOException
    {
        if (body < Frames.NOTIFY_FIXED ||
            body > Frames.notifyBody(Frames.MAX_REASON, config.maxNotificationBytes()))
        {
            if (body >= Frames.NOTIFY_FIXED)
            {
                BlockingSocketIo.skip(channel, scratch, body);
                return refuseRequest(Frames.NOTIFY, id, Frames.OVER_LIMIT, "NOTIFY body of " + body + " bytes " +
                    "exceeds this agent's max_notification_bytes " + config.maxNotificationBytes());
            }
            return protocolError("NOTIFY body of " + body + " bytes");
        }
        // read in pieces into a buffer that grows only with the bytes that arrived: a declared length costs nothing
        byte[] b = new byte[Math.min(body, NOTIFY_STEP)];
        int have = 0;
        while (have < body)
        {
            if (have == b.length)
            {
                b = java.util.Arrays.copyOf(b, (int)Math.min(body, 2L * b.length));
            }
            final int n = Math.min(b.length - have, scratch.capacity());
            scratch.clear().limit(n);
            BlockingSocketIo.readFully(channel, scratch);
            scratch.flip().get(b, have, n);
            have += n;
        }
        final ByteBuffer in = ByteBuffer.wrap(b);
        final short kind = in.getShort();
        in.getShort();
        final int reasonLength = in.getInt();
        final int payloadLength = in.getInt();
        in.getInt();
        if (reasonLength < 0 || payloadLength < 0 || (long)reasonLength + payloadLength > in.remaining() ||
            Frames.notifyBody(reasonLength, payloadLength) != body ||
            (kind != Frames.NOTIFY_DATA && kind != Frames.NOTIFY_STANDALONE && kind != Frames.NOTIFY_FAILURE))
        {
            return protocolError("malformed NOTIFY (kind " + kind + ", reason of " + reasonLength + " bytes, " +
                "payload of " + payloadLength + " bytes, body of " + body + " bytes)");
        }
        if (payloadLength > config.maxNotificationBytes() || reasonLength > Frames.MAX_REASON)
        {
            return refuseRequest(Frames.NOTIFY, id, Frames.OVER_LIMIT, "notification of " + payloadLength +
                " bytes (reason of " + reasonLength + ") exceeds this agent's max_notification_bytes " +
                config.maxNotificationBytes());
        }
        final String reason = new String(b, in.position(), reasonLength, StandardCharsets.UTF_8);
        in.position(in.position() + reasonLength);
        final byte[] payload = new byte[payloadLength];
        in.get(payload);
        // acknowledged before the application hears of it: an application that closes its agent on a notification
        // (a target told "done") must not cut the sender off before the sender learns the notification arrived
        sendReply(Frames.ACK, id, Frames.OK, "");
        if (backend.firstDelivery(initiator, id))
        {
            if (Frames.NOTIFY_FAILURE == kind)
            {
                backend.context.deliverFailureNotification(initiator, payload, reason);
            }
            else
            {
                backend.context.deliverNotification(initiator, payload);
            }
        }
        return true;
    }

    /** Answers one request with a refusing status; the connection stays (the frame was read whole). */
    private boolean refuseRequest(final int type, final long id, final short status, final String reason)
        throws IOException
    {
        warn("TCP agent " + backend.agentName() + " refused " +
            Frames.typeName(type) + " from " + initiator + " at " + remote + ": " + Frames.statusName(status) +
            " " + reason);
        sendReply(Frames.READ_REQ == type ? Frames.READ_DATA : Frames.ACK, id, status, reason);
        return true;
    }

    private boolean protocolError(final String what) throws IOException
    {
        return closeWith("closes the connection after a protocol violation", what);
    }

    /** Logs why, tells the peer with a MALFORMED status, and has the connection closed (returns false). */
    private boolean closeWith(final String action, final String reason) throws IOException
    {
        warn("TCP agent " + backend.agentName() + " " + action + " of " + initiator +
            " at " + remote + ": " + reason);
        sendReply(Frames.ACK, 0, Frames.MALFORMED, reason);
        return false;
    }

    private void sendReply(final byte type, final long id, final short status, final String reason)
        throws IOException
    {
        final byte[] text = reason.isEmpty() ? NO_REASON : reason.getBytes(StandardCharsets.UTF_8);
        final int len = Math.min(text.length, Frames.MAX_REASON);
        Frames.putReplyPrefix(reply.clear(), type, id, status, (short)0, 0, len).put(text, 0, len);
        BlockingSocketIo.writeFully(channel, Frames.putPadding(reply).flip());
    }
}
