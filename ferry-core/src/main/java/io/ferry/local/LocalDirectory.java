package io.ferry.local;

import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The LOCAL backends alive in this JVM, by id, so that in-process agents can find each other from metadata.
 */
final class LocalDirectory
{
    /** Tells this JVM apart from others: connection info from another process names another JVM. */
    static final String JVM_ID = UUID.randomUUID().toString();

    private static final ConcurrentHashMap<Long, LocalBackend> BACKENDS = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();

    private LocalDirectory()
    {
    }

    static long add(final LocalBackend backend)
    {
        final long id = IDS.incrementAndGet();
        BACKENDS.put(id, backend);
        return id;
    }

    static LocalBackend get(final long id)
    {
        return BACKENDS.get(id);
    }

    static void remove(final long id)
    {
        BACKENDS.remove(id);
    }
}
