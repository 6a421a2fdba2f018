package io.ferry.tcp;

import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongToIntFunction;

/**
 * The TCP backend's timer: closes connections whose handshake outlived its deadline and asks every link to check
 * its ack deadlines. A duty-cycle agent: {@link #doWork(long)} takes the time as an argument, so tests step it
 * with a fake clock; {@link #run()} drives it on a thread every {@code periodMs}.
 */
final class Watchdog implements Runnable
{
    private final Map<SocketChannel, Long> deadlines = new ConcurrentHashMap<>();
    private final LongToIntFunction linkCheck;
    private final long periodMs;
    private volatile boolean running = true;

    Watchdog(final LongToIntFunction linkCheck, final long periodMs)
    {
        this.linkCheck = linkCheck;
        this.periodMs = periodMs;
    }

    void deadline(final SocketChannel channel, final long millis)
    {
        deadlines.put(channel, System.nanoTime() + millis * 1_000_000L);
    }

    void clear(final SocketChannel channel)
    {
        deadlines.remove(channel);
    }

    /**
     * @param nowNs the current time.
     * @return how many connections or paths it closed.
     */
    int doWork(final long nowNs)
    {
        int work = 0;
        for (final Map.Entry<SocketChannel, Long> e : deadlines.entrySet())
        {
            if (nowNs - e.getValue() > 0)
            {
                deadlines.remove(e.getKey());
                BlockingSocketIo.closeQuietly(e.getKey());
                work++;
            }
        }
        return work + linkCheck.applyAsInt(nowNs);
    }

    public void run()
    {
        while (running)
        {
            doWork(System.nanoTime());
            try
            {
                Thread.sleep(periodMs);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
        }
    }

    void stop()
    {
        running = false;
    }
}
