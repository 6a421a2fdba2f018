package io.ferry.tcp;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * Brings broken paths back in the background: one virtual thread per broken path tries again after
 * {@code reconnect_interval_ms}, doubling the wait up to 16 times that, while the link wants it.
 */
final class Reconnector
{
    /** Tries once to bring a path back. */
    interface Attempt
    {
        /**
         * @return true when done (the path is back, or no longer wanted); false to try again later.
         * @throws IOException when this attempt failed (the reconnector waits longer before the next).
         */
        boolean tryOnce() throws IOException;
    }

    private final long baseMs;
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

    /** @param baseMs the first wait ({@code reconnect_interval_ms}); 0 never reconnects. */
    Reconnector(final long baseMs)
    {
        this.baseMs = baseMs;
    }

    /** @return the wait after one that failed: doubled, at most 16 x the first. */
    static long nextWaitMs(final long waitMs, final long baseMs)
    {
        return Math.min(waitMs * 2, 16 * baseMs);
    }

    /**
     * @param threadName the reconnecting thread's name.
     * @param wanted     checked before each attempt: false ends the thread.
     * @param attempt    one try.
     */
    void start(final String threadName, final BooleanSupplier wanted, final Attempt attempt)
    {
        if (0 == baseMs)
        {
            return;
        }
        final Thread t = Thread.ofVirtual().name(threadName).unstarted(() -> loop(wanted, attempt));
        threads.add(t);
        t.start();
    }

    private void loop(final BooleanSupplier wanted, final Attempt attempt)
    {
        try
        {
            long waitMs = baseMs;
            while (wanted.getAsBoolean())
            {
                try
                {
                    Thread.sleep(waitMs);
                }
                catch (final InterruptedException ex)
                {
                    return;
                }
                if (!wanted.getAsBoolean())
                {
                    return;
                }
                try
                {
                    if (attempt.tryOnce())
                    {
                        return;
                    }
                }
                catch (final IOException | RuntimeException ex)
                {
                    waitMs = nextWaitMs(waitMs, baseMs);
                }
            }
        }
        finally
        {
            threads.remove(Thread.currentThread());
        }
    }

    /** Stops every reconnecting thread (they end at their next wait). */
    void stopAll()
    {
        for (final Thread t : threads)
        {
            t.interrupt();
        }
    }
}
