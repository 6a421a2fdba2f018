package io.ferry.samehost;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What decides whether another agent's memory and Unix sockets are within reach: the kernel's boot id (one per
 * running kernel, so per host), the network namespace (abstract Unix socket names live in it) and the PID
 * namespace (process ids for cross-memory attach are only meaningful inside it).
 * <p>
 * Tests that need two "hosts" on one machine set the system property {@code ferry.host.id} (or the environment
 * variable {@code FERRY_HOST_ID}) in one of the processes: its value replaces the boot id. A network namespace alone
 * is not another host here; its agents are still told apart by the namespace, and use TCP between them.
 *
 * @param bootId       the kernel's boot id, or the override.
 * @param netNamespace the network namespace (e.g. {@code net:[4026531840]}).
 * @param pidNamespace the PID namespace.
 */
public record HostIdentity(String bootId, String netNamespace, String pidNamespace)
{
    /** The system property that replaces the boot id. */
    public static final String OVERRIDE_PROPERTY = "ferry.host.id";
    /** The environment variable that replaces the boot id. */
    public static final String OVERRIDE_ENV = "FERRY_HOST_ID";

    /**
     * Checks the fields: no spaces (the identity travels as words).
     */
    public HostIdentity
    {
        for (final String s : new String[]{bootId, netNamespace, pidNamespace})
        {
            if (null == s || s.isEmpty() || s.chars().anyMatch(c -> c <= ' ' || c > '~'))
            {
                throw new IllegalArgumentException("host identity fields are printable words, got '" + s + "'");
            }
        }
    }

    /** @return this process's identity (the override applied). */
    public static HostIdentity current()
    {
        String boot = System.getProperty(OVERRIDE_PROPERTY);
        if (null == boot || boot.isBlank())
        {
            boot = System.getenv(OVERRIDE_ENV);
        }
        if (null == boot || boot.isBlank())
        {
            boot = read("/proc/sys/kernel/random/boot_id");
        }
        return new HostIdentity(boot.trim(), link("/proc/self/ns/net"), link("/proc/self/ns/pid"));
    }

    private static String read(final String file)
    {
        try
        {
            return Files.readString(Path.of(file)).trim();
        }
        catch (final IOException ex)
        {
            return "unknown-" + ProcessHandle.current().pid();
        }
    }

    private static String link(final String file)
    {
        try
        {
            return Files.readSymbolicLink(Path.of(file)).toString();
        }
        catch (final IOException | UnsupportedOperationException ex)
        {
            return "unknown";
        }
    }

    /**
     * @param other a peer's identity.
     * @return null when the peer's Unix socket and memory are within reach, else why not (for the log).
     */
    public String unreachableReason(final HostIdentity other)
    {
        if (!bootId.equals(other.bootId))
        {
            return "it runs on another host (boot id " + other.bootId + ", here " + bootId + ")";
        }
        if (!netNamespace.equals(other.netNamespace))
        {
            return "it runs in another network namespace (" + other.netNamespace + ", here " + netNamespace +
                "), where this agent's Unix socket names are out of reach";
        }
        return null;
    }

    /**
     * @param other a peer's identity.
     * @return whether a process id the peer declares means the same process here.
     */
    public boolean samePidNamespace(final HostIdentity other)
    {
        return pidNamespace.equals(other.pidNamespace);
    }
}
