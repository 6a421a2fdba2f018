package io.ferry.metadata;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A socket's input with one deadline for everything read through it: before each read the socket's timeout is set
 * to what is left, so a sender that trickles a byte at a time cannot stretch a request past its deadline (a plain
 * {@code SO_TIMEOUT} bounds each read, not the whole).
 */
final class DeadlineInputStream extends FilterInputStream
{
    private final Socket socket;
    private final long deadlineNs;

    DeadlineInputStream(final Socket socket, final InputStream in, final long deadlineNs)
    {
        super(in);
        this.socket = socket;
        this.deadlineNs = deadlineNs;
    }

    private void arm() throws IOException
    {
        final long ms = (deadlineNs - System.nanoTime()) / 1_000_000;
        if (ms <= 0)
        {
            throw new SocketTimeoutException("the request's deadline passed");
        }
        socket.setSoTimeout((int)Math.min(ms, Integer.MAX_VALUE));
    }

    public int read() throws IOException
    {
        arm();
        return super.read();
    }

    public int read(final byte[] b, final int off, final int len) throws IOException
    {
        arm();
        return super.read(b, off, len);
    }

    /** Skips by reading (each read under the deadline), at most 8 KiB a call. */
    public long skip(final long n) throws IOException
    {
        if (n <= 0)
        {
            return 0;
        }
        final byte[] drop = new byte[(int)Math.min(8192, n)];
        final int got = read(drop, 0, drop.length);
        return Math.max(0, got);
    }
}
