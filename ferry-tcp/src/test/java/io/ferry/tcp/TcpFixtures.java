package io.ferry.tcp;

import io.ferry.Agent;
import io.ferry.AgentConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Helpers for TCP tests: agents on loopback with CRC32C on, patterns, thread checks.
 */
final class TcpFixtures
{
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private TcpFixtures()
    {
    }

    static String unique(final String prefix)
    {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    }

    static Agent tcpAgent(final String prefix, final String... extra)
    {
        final Map<String, String> params = new HashMap<>();
        params.put("listen_address", "127.0.0.1");
        params.put("crc32c", "true");
        for (int i = 0; i + 1 < extra.length; i += 2)
        {
            params.put(extra[i], extra[i + 1]);
        }
        return Agent.create(AgentConfig.builder(unique(prefix)).backend("TCP", params)
            .defaultTimeout(java.time.Duration.ofSeconds(20)).build());
    }

    static void fill(final MemorySegment segment, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final long size = segment.byteSize();
        long i = 0;
        for (; i + 8 <= size; i += 8)
        {
            segment.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
        for (; i < size; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte)random.nextInt());
        }
    }

    static void assertSameBytes(final MemorySegment expected, final MemorySegment actual)
    {
        assertThat(MemorySegment.mismatch(expected, 0, expected.byteSize(), actual, 0, actual.byteSize()))
            .as("first differing byte").isEqualTo(-1L);
    }

    static long liveThreads(final String agentName)
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && t.getName().startsWith("ferry-tcp-" + agentName)).count();
    }
}
