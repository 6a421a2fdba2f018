package io.ferry.tcp;

import java.util.ArrayDeque;

/**
 * The chunks of a peer waiting for a path, in order, and how many payload bytes they hold (so that path choice
 * can tell the end of a transfer from its middle). Guarded by the peer link's lock.
 */
final class PendingChunks
{
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    private long bytes;

    void addFirst(final Chunk c)
    {
        chunks.addFirst(c);
        bytes += c.bytes;
    }

    void addLast(final Chunk c)
    {
        chunks.addLast(c);
        bytes += c.bytes;
    }

    Chunk peekFirst()
    {
        return chunks.peekFirst();
    }

    Chunk pollFirst()
    {
        final Chunk c = chunks.pollFirst();
        if (null != c)
        {
            bytes -= c.bytes;
        }
        return c;
    }

    boolean isEmpty()
    {
        return chunks.isEmpty();
    }

    void clear()
    {
        chunks.clear();
        bytes = 0;
    }

    /**
     * Drops every waiting chunk of a request, so that a later post of it, which reuses its chunk objects, cannot
     * find stale copies of them in the queue.
     *
     * @param request the request.
     */
    void removeAll(final TcpRequest request)
    {
        chunks.removeIf(c ->
        {
            if (c.request == request)
            {
                bytes -= c.bytes;
                return true;
            }
            return false;
        });
    }

    /** @return payload bytes of the chunks waiting. */
    long bytes()
    {
        return bytes;
    }
}
