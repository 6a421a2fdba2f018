package io.ferry.cli;

import java.util.ArrayDeque;

/**
 * Closes what was added to it, last first, when it is closed (memory a tool allocated as it went).
 */
final class Closer implements AutoCloseable
{
    private final ArrayDeque<AutoCloseable> items = new ArrayDeque<>();

    <T extends AutoCloseable> T add(final T item)
    {
        items.push(item);
        return item;
    }

    public void close()
    {
        RuntimeException first = null;
        while (!items.isEmpty())
        {
            try
            {
                items.pop().close();
            }
            catch (final Exception ex)
            {
                if (null == first)
                {
                    first = ex instanceof RuntimeException re ? re : new IllegalStateException(ex);
                }
            }
        }
        if (null != first)
        {
            throw first;
        }
    }
}
