package io.ferry.tcp;

import io.ferry.Agent;
import io.ferry.AgentConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * Helpers for TCP tests: agents on loopback with CRC32C on, thread checks (patterns come from
 * {@link io.ferry.Fixtures}).
 */
final class TcpFixtures
{
    private TcpFixtures()
    {
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
        return Agent.create(AgentConfig.builder(io.ferry.Fixtures.unique(prefix)).backend("TCP", params)
            .defaultTimeout(java.time.Duration.ofSeconds(20)).build());
    }

    static long liveThreads(final String agentName)
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && t.getName().startsWith("ferry-tcp-" + agentName)).count();
    }
}
