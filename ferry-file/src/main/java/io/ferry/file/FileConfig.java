package io.ferry.file;

import io.ferry.FerryException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The FILE backend's parameters.
 *
 * @param engine          io_uring, posix, or auto (io_uring where the kernel allows it, else POSIX, said once).
 * @param ioThreads       I/O threads (io_uring: a ring each; POSIX: threads that each run one pread/pwrite).
 * @param queueDepth      I/Os in flight per io_uring ring.
 * @param direct          auto (O_DIRECT for aligned I/Os where the file system allows it), always, never.
 * @param directAlignment the alignment of memory, offset and length that O_DIRECT needs.
 * @param maxIoBytes      spans are cut into I/Os of at most this many bytes.
 */
record FileConfig(String engine, int ioThreads, int queueDepth, String direct, long directAlignment, long maxIoBytes)
{
    static Map<String, String> defaults()
    {
        final Map<String, String> m = new LinkedHashMap<>();
        m.put("engine", "auto");
        m.put("io_threads", String.valueOf(Math.min(4, Runtime.getRuntime().availableProcessors())));
        m.put("queue_depth", "64");
        m.put("direct", "auto");
        m.put("direct_alignment", "4096");
        m.put("max_io_bytes", String.valueOf(16 << 20));
        return m;
    }

    static FileConfig parse(final Map<String, String> p)
    {
        final String engine = p.get("engine");
        final String direct = p.get("direct");
        if (!List.of("auto", "io_uring", "posix").contains(engine))
        {
            throw FerryException.invalid("FILE parameter engine=" + engine + ": expected auto, io_uring or posix");
        }
        if (!List.of("auto", "always", "never").contains(direct))
        {
            throw FerryException.invalid("FILE parameter direct=" + direct + ": expected auto, always or never");
        }
        final long alignment = number(p, "direct_alignment", 512, 1 << 20);
        if (Long.bitCount(alignment) != 1)
        {
            throw FerryException.invalid("FILE parameter direct_alignment=" + alignment + " is not a power of two");
        }
        return new FileConfig(engine, (int)number(p, "io_threads", 1, 64), (int)number(p, "queue_depth", 1, 4096),
            direct, alignment, number(p, "max_io_bytes", 4096, 1L << 30));
    }

    private static long number(final Map<String, String> p, final String key, final long min, final long max)
    {
        return io.ferry.spi.BackendParams.number(p, "FILE", key, min, max);
    }
}
