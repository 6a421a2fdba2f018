package io.ferry.shm;

import io.ferry.Agent;
import io.ferry.AgentConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Helpers of the SHM tests.
 */
final class ShmFixtures
{
    private ShmFixtures()
    {
    }

    /** An agent with SHM only; extra SHM parameters as key, value pairs. */
    static Agent shmAgent(final String prefix, final String... extra)
    {
        return Agent.create(AgentConfig.builder(io.ferry.Fixtures.unique(prefix)).backend("SHM", params(extra))
            .defaultTimeout(Duration.ofSeconds(20)).build());
    }

    /** An agent with SHM and TCP (in that order). */
    static Agent shmTcpAgent(final String prefix, final String... extra)
    {
        return Agent.create(AgentConfig.builder(io.ferry.Fixtures.unique(prefix)).backend("SHM", params(extra))
            .backend("TCP", Map.of("listen_address", "127.0.0.1")).defaultTimeout(Duration.ofSeconds(20)).build());
    }

    private static Map<String, String> params(final String... extra)
    {
        final Map<String, String> params = new HashMap<>();
        for (int i = 0; i + 1 < extra.length; i += 2)
        {
            params.put(extra[i], extra[i + 1]);
        }
        return params;
    }

    /** @return threads of an agent's SHM backend still alive. */
    static long liveThreads(final String agentName)
    {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() &&
            t.getName().startsWith("ferry-shm-") && t.getName().contains(agentName)).count();
    }

    /** @return this process's open descriptors. */
    static long openDescriptors() throws IOException
    {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd")))
        {
            return s.count();
        }
    }

    static String describeDescriptors() throws IOException
    {
        final StringBuilder sb = new StringBuilder();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd")))
        {
            s.forEach(p ->
            {
                try
                {
                    sb.append(p.getFileName()).append("->").append(Files.readSymbolicLink(p)).append(' ');
                }
                catch (final IOException ex)
                {
                    sb.append(p.getFileName()).append("->? ");
                }
            });
        }
        return sb.toString();
    }

    /** @return mappings of SHM memory files in this process. */
    static long sharedFileMappings() throws IOException
    {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains("memfd:ferry-shm"))
            .count();
    }

    /** @return the entries of /dev/shm. */
    static long devShmEntries() throws IOException
    {
        try (Stream<Path> s = Files.list(Path.of("/dev/shm")))
        {
            return s.count();
        }
    }
}
