package io.ferry.bench;

import io.ferry.Transfer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How the two-process benchmarks measure: bandwidth over repeated posts, and medians.
 */
final class Rates
{
    private Rates()
    {
    }

    /**
     * Bytes per second / 1e9 over repeated posts: warm-up for a second (both JVMs compile the path), then at least
     * two seconds and five completions of measurement. With several transfers, all are posted at once and each is
     * posted again as soon as it completes (in turn), so that as many are always in flight; those still in flight at
     * the end are not counted.
     */
    static double rate(final Transfer... ts)
    {
        final long warmEnd = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() - warmEnd < 0)
        {
            for (final Transfer t : ts)
            {
                t.post();
            }
            for (final Transfer t : ts)
            {
                t.await(Duration.ofSeconds(60));
            }
        }
        long completions = 0;
        long bytes = 0;
        final long start = System.nanoTime();
        long now;
        for (final Transfer t : ts)
        {
            t.post();
        }
        for (int k = 0; ; k = (k + 1) % ts.length)
        {
            ts[k].await(Duration.ofSeconds(60));
            completions++;
            bytes += ts[k].totalBytes();
            now = System.nanoTime();
            if (completions >= 5 && now - start >= 2_000_000_000L)
            {
                break;
            }
            ts[k].post();
        }
        for (final Transfer t : ts)
        {
            t.await(Duration.ofSeconds(60));
        }
        return bytes / ((now - start) / 1e9) / 1e9;
    }

    static double median(final List<Double> values)
    {
        final List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2);
    }

    /**
     * Post-to-DONE latency of one transfer, posted again and again: two seconds of warm-up, then {@code n} timed.
     *
     * @return the {@code n} latencies in nanoseconds, sorted.
     */
    static long[] latencies(final Transfer t, final int n)
    {
        final long warmEnd = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() - warmEnd < 0)
        {
            t.post();
            t.await(Duration.ofSeconds(10));
        }
        final long[] lat = new long[n];
        for (int i = 0; i < n; i++)
        {
            final long start = System.nanoTime();
            t.post();
            t.await(Duration.ofSeconds(10));
            lat[i] = System.nanoTime() - start;
        }
        java.util.Arrays.sort(lat);
        return lat;
    }
}
