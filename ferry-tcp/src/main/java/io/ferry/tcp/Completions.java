package io.ferry.tcp;

import io.ferry.FerryException;

/**
 * Posts that ended inside a {@link LinkScheduler} call, kept until the caller has left the link's lock and tells
 * their owners. Reused by its one thread (a path's receiver keeps one), so that answering a chunk allocates nothing.
 */
final class Completions
{
    private TcpRequest[] requests = new TcpRequest[4];
    private FerryException[] errors = new FerryException[4];
    private int size;

    /** @param error null for success. */
    void add(final TcpRequest r, final FerryException error)
    {
        if (size == requests.length)
        {
            requests = java.util.Arrays.copyOf(requests, 2 * size);
            errors = java.util.Arrays.copyOf(errors, 2 * size);
        }
        requests[size] = r;
        errors[size] = error;
        size++;
    }

    /** Tells each post's owner how it ended, then forgets them. Outside the link's lock. */
    void deliver()
    {
        final int n = size;
        size = 0;
        for (int i = 0; i < n; i++)
        {
            final TcpRequest r = requests[i];
            final FerryException e = errors[i];
            requests[i] = null;
            errors[i] = null;
            if (null == e)
            {
                r.sink.onComplete();
            }
            else
            {
                r.sink.onFailure(e);
            }
        }
    }
}
