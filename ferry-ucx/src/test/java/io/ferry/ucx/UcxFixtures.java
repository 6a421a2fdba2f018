package io.ferry.ucx;

import io.ferry.Agent;
import io.ferry.AgentConfig;

import java.util.LinkedHashMap;
import java.util.Map;

import static io.ferry.Fixtures.unique;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the UCX tests share: skipping where UCX is not installed, and an agent with the UCX backend on one UCX
 * transport.
 */
final class UcxFixtures
{
    private UcxFixtures()
    {
    }

    /** Skips the test, with the reason, where UCX cannot run (under CI, fails it: .ci/run installs UCX). */
    static void assumeUcx()
    {
        final String reason = Ucp.unavailableReason();
        if (null != reason && "true".equals(System.getenv("CI")))
        {
            throw new IllegalStateException(reason + "; .ci/run should have installed it");
        }
        assumeTrue(null == reason, () -> "UCX tests skipped: " + reason);
    }

    /**
     * @param prefix the agent name's prefix.
     * @param tls    UCX_TLS for its context (e.g. "tcp" or "posix,sysv,self").
     * @param extra  more parameters, key then value.
     * @return an agent with only the UCX backend.
     */
    static Agent ucxAgent(final String prefix, final String tls, final String... extra)
    {
        assumeUcx();
        final Map<String, String> p = new LinkedHashMap<>();
        p.put("UCX_TLS", tls);
        for (int i = 0; i < extra.length; i += 2)
        {
            p.put(extra[i], extra[i + 1]);
        }
        return Agent.create(AgentConfig.builder(unique(prefix)).backend("UCX", p).listenPort(-1).build());
    }

    static long liveThreads(final String agentName)
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && t.getName().contains(agentName)).count();
    }
}
