package io.ferry.cli;

import io.ferry.AgentConfig;

import java.util.Map;

/**
 * The agents the commands start for themselves: in this process, no metadata listener, the chosen backend (TCP on
 * loopback).
 */
final class CliAgents
{
    private CliAgents()
    {
    }

    /**
     * @param name    agent name (the process id is appended, so that several runs can share a host).
     * @param backend LOCAL or TCP.
     * @return a builder to finish (observers, timeouts).
     */
    static AgentConfig.Builder config(final String name, final String backend)
    {
        return config(name, backend, Map.of());
    }

    /**
     * @param name    agent name (the process id is appended).
     * @param backend LOCAL, TCP or CUDA.
     * @param params  the backend's parameters; TCP listens on loopback unless they say otherwise.
     * @return a builder to finish.
     */
    static AgentConfig.Builder config(final String name, final String backend, final Map<String, String> params)
    {
        final AgentConfig.Builder b = AgentConfig.builder(name + "-" + ProcessHandle.current().pid()).listenPort(-1);
        final Map<String, String> p = new java.util.HashMap<>(params);
        if ("TCP".equals(backend))
        {
            p.putIfAbsent("listen_address", "127.0.0.1");
        }
        return secured(b.backend(backend, p));
    }

    /** The environment variable that sets the shared secret of every agent the command starts. */
    static final String SECRET_ENV = "FERRY_AUTH_SECRET";

    /**
     * @param b an agent's configuration.
     * @return it, with the shared secret of {@code FERRY_AUTH_SECRET} for every plane when that is set (from the
     * environment, so that it shows in no process list).
     */
    static AgentConfig.Builder secured(final AgentConfig.Builder b)
    {
        final String secret = System.getenv(SECRET_ENV);
        return null == secret || secret.isEmpty() ? b : b.authSecret(secret);
    }

    /**
     * An agent for one side of a two-process run: named exactly (peers may look it up by name in etcd),
     * reachable from other hosts.
     *
     * @param name         the agent name.
     * @param backend      the backend.
     * @param metadataPort the metadata listener's port (0: any), or -1 for none.
     * @param params       the backend's parameters (e.g. TCP paths bound to local addresses).
     * @return a builder to finish.
     */
    static AgentConfig.Builder networked(final String name, final String backend, final int metadataPort,
        final Map<String, String> params)
    {
        return secured(AgentConfig.builder(name).listenPort(metadataPort).backend(backend, params));
    }
}
