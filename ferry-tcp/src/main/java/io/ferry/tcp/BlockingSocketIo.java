package io.ferry.tcp;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Blocking full reads and writes on a socket channel.
 */
final class BlockingSocketIo
{
    /**
     * Most buffers handed to one scatter/gather call. The JDK walks every buffer it is given on each call (to build
     * the iovec and then to advance positions), so a frame of thousands of small spans read in many partial reads
     * would cost quadratic time without a cap. It equals the default {@code max_spans_per_chunk}, so a default chunk
     * of small blocks goes in one call: with 32, a 20,480 x 4 KiB WRITE ran at 0.66-0.79 of one 80 MiB descriptor
     * on a 2-CPU loopback, with 256 at 0.79-0.88 (six rounds each, interleaved).
     */
    static final int MAX_IOV_PER_CALL = 256;

    private BlockingSocketIo()
    {
    }

    static void readFully(final SocketChannel ch, final ByteBuffer buf) throws IOException
    {
        while (buf.hasRemaining())
        {
            if (ch.read(buf) < 0)
            {
                throw new EOFException("connection closed by the peer");
            }
        }
    }

    static void readFully(final SocketChannel ch, final ByteBuffer[] iov, final int offset, final int count,
        final long total) throws IOException
    {
        long left = total;
        int first = offset;
        final int end = offset + count;
        while (left > 0)
        {
            final long n = ch.read(iov, first, Math.min(MAX_IOV_PER_CALL, end - first));
            if (n < 0)
            {
                throw new EOFException("connection closed by the peer");
            }
            left -= n;
            while (first < end && !iov[first].hasRemaining())
            {
                first++;
            }
        }
    }

    static void writeFully(final SocketChannel ch, final ByteBuffer[] iov, final int count) throws IOException
    {
        int first = 0;
        while (first < count)
        {
            ch.write(iov, first, Math.min(MAX_IOV_PER_CALL, count - first));
            while (first < count && !iov[first].hasRemaining())
            {
                first++;
            }
        }
    }

    static void writeFully(final SocketChannel ch, final ByteBuffer buf) throws IOException
    {
        while (buf.hasRemaining())
        {
            ch.write(buf);
        }
    }

    /** Reads and drops {@code count} bytes through a scratch buffer. */
    static void skip(final SocketChannel ch, final ByteBuffer scratch, final long count) throws IOException
    {
        long left = count;
        while (left > 0)
        {
            scratch.clear().limit((int)Math.min(scratch.capacity(), left));
            readFully(ch, scratch);
            left -= scratch.limit();
        }
    }

    /** @return what an I/O failure was, for a log line: its message, or its type when it has none. */
    static String describe(final IOException ex)
    {
        if (ex instanceof EOFException)
        {
            return "the peer closed the connection";
        }
        return null == ex.getMessage() ? ex.getClass().getSimpleName() : ex.getMessage();
    }

    static void closeQuietly(final java.io.Closeable c)
    {
        if (null != c)
        {
            try
            {
                c.close();
            }
            catch (final IOException ignore)
            {
                // closing anyway
            }
        }
    }
}
