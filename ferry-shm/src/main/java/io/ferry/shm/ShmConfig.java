package io.ferry.shm;

import io.ferry.FerryException;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The SHM backend's parameters.
 *
 * @param authSecret       shared secret both sides of the channel prove (empty: none).
 * @param copyThreads      threads that split large requests between them.
 * @param parallelBytes    requests of at least this many bytes are split over the copy threads; smaller ones are
 *                         copied by the posting thread before {@code post} returns.
 * @param timeoutMillis    deadline of the channel's handshake and of a map request.
 * @param maxConnections   the most same-host connections peers may hold open to this agent.
 */
record ShmConfig(byte[] authSecret, int copyThreads, long parallelBytes, long timeoutMillis, int maxConnections)
{
    static Map<String, String> defaults()
    {
        final Map<String, String> m = new LinkedHashMap<>();
        m.put("auth_secret", "");
        m.put("copy_threads", String.valueOf(Math.min(4, Runtime.getRuntime().availableProcessors())));
        m.put("parallel_bytes", String.valueOf(8 << 20));
        m.put("timeout_ms", "10000");
        m.put("max_connections", "256");
        return m;
    }

    static ShmConfig parse(final Map<String, String> p)
    {
        final String secret = p.getOrDefault("auth_secret", "");
        return new ShmConfig(secret.isEmpty() ? null : secret.getBytes(StandardCharsets.UTF_8),
            (int)number(p, "copy_threads", 1, 64), number(p, "parallel_bytes", 1, Long.MAX_VALUE),
            number(p, "timeout_ms", 1, 3_600_000), (int)number(p, "max_connections", 1, 65_536));
    }

    private static long number(final Map<String, String> p, final String key, final long min, final long max)
    {
        return io.ferry.spi.BackendParams.number(p, "SHM", key, min, max);
    }
}
