package io.ferry.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.Condition;

/**
 * One TCP connection to a peer, the I/O of a {@link PathState}: a sender thread that writes the chunks the link's
 * scheduler assigned to it, and a receiver thread that reads acknowledgements and READ data. Scheduling state
 * (queues, window, rates) is the superclass's, guarded by the link's lock.
 */
final class TcpPath extends PathState
{
    final PeerLink link;
    final java.net.InetSocketAddress remote;
    final SocketChannel channel;
    final Condition hasWork;
    /** Held while a frame is written: by the sender thread, or by a posting thread writing a small chunk itself. */
    final java.util.concurrent.locks.ReentrantLock writeLock = new java.util.concurrent.locks.ReentrantLock();
    /** The posts an answer ended, reused by the receiver thread. */
    final Completions completions = new Completions();
    final String description;

    private final ByteBuffer txHeader;
    private final ByteBuffer rxHeader = ByteBuffer.allocateDirect(Frames.HEADER_LENGTH + Frames.REPLY_FIXED);
    /** Zero bytes written after a payload; nothing writes into it. */
    private final ByteBuffer txPad = ByteBuffer.allocateDirect(Frames.ALIGN);
    /** The padding read after a payload. */
    private final ByteBuffer rxPad = ByteBuffer.allocateDirect(Frames.ALIGN);
    private final ViewCache txViews;
    private final ByteBuffer[] txPair = new ByteBuffer[2];
    private final ViewCache rxViews;
    private Thread sender;
    private Thread receiver;

    TcpPath(final PeerLink link, final int index, final int generation, final java.net.InetSocketAddress remote,
        final SocketChannel channel, final CongestionController controller, final int maxSpans,
        final String description)
    {
        super(index, generation, controller);
        this.link = link;
        this.remote = remote;
        this.channel = channel;
        this.hasWork = link.lock.newCondition();
        this.description = description;
        this.txHeader = ByteBuffer.allocateDirect(Frames.chunkPrefix(maxSpans));
        this.txViews = new ViewCache(2 * maxSpans, link.backend.deviceMemory);
        this.rxViews = new ViewCache(2 * maxSpans, link.backend.deviceMemory);
    }

    void start(final String threadPrefix)
    {
        sender = TcpBackend.daemon(this::sendLoop, threadPrefix + "-p" + index + "-tx");
        receiver = TcpBackend.daemon(this::receiveLoop, threadPrefix + "-p" + index + "-rx");
        sender.start();
        receiver.start();
    }

    /** @return whether {@code t} is this path's sender or receiver thread. */
    boolean ownsThread(final Thread t)
    {
        return t == sender || t == receiver;
    }

    /** Waits for this path's threads to end, except the calling thread (a path thread that failed its link). */
    void join(final long millis) throws InterruptedException
    {
        if (null != sender && Thread.currentThread() != sender)
        {
            sender.join(millis);
        }
        if (null != receiver && Thread.currentThread() != receiver)
        {
            receiver.join(millis);
        }
    }

    private void sendLoop()
    {
        try
        {
            while (true)
            {
                final Chunk c = link.nextToSend(this);
                if (null == c)
                {
                    return;
                }
                writeLock.lock();
                try
                {
                    write(c);
                }
                catch (final IllegalStateException ex)
                {
                    link.failIfFreed(c); // its request fails alone; the broken frame costs this path only
                    throw ex;
                }
                finally
                {
                    writeLock.unlock();
                }
            }
        }
        catch (final Throwable t)
        {
            threadEnds(t);
        }
        finally
        {
            writeLock.lock();
            try
            {
                txViews.close();
            }
            finally
            {
                writeLock.unlock();
            }
        }
    }

    /**
     * The sender or receiver thread is ending on a failure: the path fails now, so its chunks move on at once (also
     * on an {@link Error}, rather than waiting out the ack timeout); an error then goes on to the thread's handler.
     */
    private void threadEnds(final Throwable t)
    {
        link.pathFailed(this, t);
        if (t instanceof Error e)
        {
            throw e;
        }
    }

    /** Writes one chunk or notification; the caller holds {@link #writeLock}. */
    void write(final Chunk c) throws IOException
    {
        if (c.isFence())
        {
            final ByteBuffer h = txHeader.clear();
            Frames.putHeader(h, Frames.FENCE, Frames.EMPTY_BODY, c.id);
            h.putShort((short)c.fencePath).putShort((short)0).putInt(c.fenceGeneration);
            BlockingSocketIo.writeFully(channel, Frames.putPadding(h).flip());
        }
        else if (c.isNotification())
        {
            writeNotification(c);
        }
        else
        {
            writeChunk(c);
        }
    }

    private void writeChunk(final Chunk c) throws IOException
    {
        final TcpRequest r = c.request;
        final boolean write = io.ferry.TransferOp.WRITE == r.op;
        final boolean useCrc = write && link.config.crc32c();
        final ByteBuffer h = txHeader.clear();
        final int spans = c.pieceCount;
        final long payload = write ? c.bytes : 0;
        Frames.putHeader(h, write ? Frames.WRITE : Frames.READ_REQ, (int)Frames.chunkBody(spans, payload), c.id);
        h.putShort((short)spans).putShort(useCrc ? Frames.FLAG_CRC : 0).putInt(0);
        final int end = c.firstPiece + spans;
        int iov = 0;
        txViews.begin(write ? c.bytes : 0);
        for (int p = c.firstPiece; p < end; p++)
        {
            h.putLong(r.remoteKey[p]).putLong(r.remoteOffset[p]).putInt(r.pieceLength[p]);
            if (write)
            {
                iov = addViews(txViews, iov, r.localRegion[p], r.localOffset[p], r.pieceLength[p]);
            }
        }
        Frames.putPadding(h);
        PayloadIo.send(channel, h, txViews, iov, payload, useCrc, txPad, txPair);
    }

    private void writeNotification(final Chunk c) throws IOException
    {
        final byte[] reason = null == c.notifyReason ? new byte[0] :
            c.notifyReason.getBytes(StandardCharsets.UTF_8);
        final int body = Frames.notifyBody(reason.length, c.notifyPayload.length);
        final ByteBuffer h = txHeader.clear();
        Frames.putHeader(h, Frames.NOTIFY, body, c.id);
        h.putShort(c.notifyKind).putShort((short)0).putInt(reason.length).putInt(c.notifyPayload.length).putInt(0)
            .flip();
        BlockingSocketIo.writeFully(channel, new ByteBuffer[] {h, ByteBuffer.wrap(reason), ByteBuffer.wrap(c.notifyPayload),
            Frames.tailPadding(txPad, Frames.HEADER_LENGTH + Frames.NOTIFY_FIXED + reason.length +
                c.notifyPayload.length)}, 4);
    }

    private void receiveLoop()
    {
        try
        {
            while (!dead)
            {
                final ByteBuffer h = rxHeader.clear(); // every frame has at least the 64 bytes of a reply's prefix
                BlockingSocketIo.readFully(channel, h);
                final String bad = Frames.checkHeader(h, link.config.maxFrameBytes());
                if (null != bad)
                {
                    throw new IOException("peer sent a bad frame: " + bad);
                }
                final int type = h.get(3);
                final int body = h.getInt(4);
                final long id = h.getLong(8);
                final int status = Short.toUnsignedInt(h.getShort(Frames.HEADER_LENGTH));
                final int flags = h.getShort(Frames.HEADER_LENGTH + 2);
                final int expectedCrc = h.getInt(Frames.HEADER_LENGTH + 4);
                final int payload = h.getInt(Frames.HEADER_LENGTH + 8);
                if ((Frames.ACK != type && Frames.READ_DATA != type) || payload < 0 ||
                    Frames.replyBody(payload) != body)
                {
                    throw new IOException("peer sent " + Frames.typeName(type) + " of " + body + " bytes with " +
                        payload + " data bytes on a data path");
                }
                if (Frames.OK != status || Frames.ACK == type)
                {
                    if (payload > Frames.MAX_REASON)
                    {
                        throw new IOException("reply reason of " + payload + " bytes");
                    }
                    String reason = "";
                    if (payload > 0)
                    {
                        final ByteBuffer text = ByteBuffer.allocate((int)Frames.aligned(payload));
                        BlockingSocketIo.readFully(channel, text);
                        reason = new String(text.array(), 0, payload, StandardCharsets.UTF_8);
                    }
                    if (0 == id && Frames.MALFORMED == status)
                    {
                        // the target closes this connection over a frame it could not parse: the request whose
                        // frame it was fails here, and is not replayed on the other paths to break them too
                        link.onConnectionRefused(this, reason);
                        throw new IOException("the peer closed the connection after a protocol violation: " + reason);
                    }
                    link.onReply(this, id, status, reason);
                    continue;
                }
                final Chunk c = link.findUnacked(this, id);
                if (null == c || null == c.request || c.isNotification() || c.bytes != payload)
                {
                    throw new IOException("READ_DATA for unknown chunk " + Long.toHexString(id) + " or of wrong size " +
                        payload);
                }
                final TcpRequest r = c.request;
                final TcpRegion freed = r.freedLocalRegion(c);
                if (null != freed)
                {
                    // the initiator's own memory was freed while its READ was on the wire: the data are dropped, the
                    // request fails, the path goes on
                    BlockingSocketIo.skip(channel, rxPad, Frames.aligned(payload));
                    link.onReply(this, id, Frames.LOCAL_FREED, "the memory of local " + freed + " was freed (its " +
                        "arena is closed)");
                    continue;
                }
                int iov = 0;
                final int end = c.firstPiece + c.pieceCount;
                rxViews.begin(payload);
                for (int p = c.firstPiece; p < end; p++)
                {
                    iov = addViews(rxViews, iov, r.localRegion[p], r.localOffset[p], r.pieceLength[p]);
                }
                final boolean crcOk;
                try
                {
                    crcOk = PayloadIo.receive(channel, rxViews, iov, payload, 0 != (flags & Frames.FLAG_CRC),
                        expectedCrc, rxPad);
                }
                catch (final IllegalStateException ex)
                {
                    link.failIfFreed(c); // freed while its data arrived: the request fails, not the peer
                    throw ex;
                }
                final int outcome = crcOk ? Frames.OK : Frames.CRC_MISMATCH;
                link.onReply(this, id, outcome, Frames.CRC_MISMATCH == outcome ? "READ data failed its CRC32C" : "");
            }
        }
        catch (final Throwable t)
        {
            threadEnds(t);
        }
        finally
        {
            rxViews.close();
        }
    }

    /** Adds views for a piece, split where it crosses a region window. Returns the new I/O vector count. */
    static int addViews(final ViewCache views, final int iov, final TcpRegion region, final long offset,
        final int length)
    {
        int n = iov;
        long off = offset;
        int left = length;
        while (left > 0)
        {
            final long windowEnd = ((off >>> TcpRegion.WINDOW_SHIFT) + 1) << TcpRegion.WINDOW_SHIFT;
            final int take = (int)Math.min(left, windowEnd - off);
            views.set(n++, region, off, take);
            off += take;
            left -= take;
        }
        return n;
    }

    public String toString()
    {
        return "path " + index + " to '" + link.peer + "' (" + description + ")";
    }
}
