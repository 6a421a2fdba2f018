package io.ferry.ucx;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What UCX finds on this host, for {@code ferry doctor} and {@code Agent.backendInfo("UCX")}: its version, the
 * transports and devices a default context uses, and a warning when none of them is RDMA. Probed once per process
 * with a context and worker of its own.
 */
final class UcxTransports
{
    private static volatile String summary;

    private UcxTransports()
    {
    }

    /** @return e.g. "UCX 1.13.1; transports: tcp/lo, posix/memory, ...; no RDMA transport: ..." */
    static String summary()
    {
        String s = summary;
        if (null == s)
        {
            s = probe();
            summary = s;
        }
        return s;
    }

    private static String probe()
    {
        final UcxConfig config = UcxConfig.parse(UcxConfig.defaults());
        final String info;
        try (UcxWorker w = new UcxWorker("probe-" + ProcessHandle.current().pid(), config, new UcxWorker.Inbound()
        {
            public void notification(final String sender, final byte[] payload)
            {
            }

            public void endpointFailed(final UcxPeer peer, final String reason)
            {
            }
        }))
        {
            info = w.call("describing the UCX context", w::contextInfo);
        }
        catch (final RuntimeException ex)
        {
            return "UCX " + Ucp.version() + " did not start here: " + ex.getMessage();
        }
        return describe(Ucp.version(), info);
    }

    /**
     * @param version UCX's version.
     * @param info    what {@code ucp_context_print_info} printed.
     * @return the summary.
     */
    static String describe(final String version, final String info)
    {
        final Set<String> resources = new LinkedHashSet<>();
        boolean rdma = false;
        for (final String line : info.split("\n"))
        {
            // "#     resource 3  :  md 2  dev 0  flags -- tcp/lo"
            final int at = line.indexOf("resource");
            if (at < 0)
            {
                continue;
            }
            final String[] words = line.trim().split("\\s+");
            final String tlDev = words[words.length - 1];
            if (tlDev.contains("/"))
            {
                resources.add(tlDev);
                final String tl = tlDev.substring(0, tlDev.indexOf('/'));
                rdma |= tl.startsWith("rc") || tl.startsWith("ud") || tl.startsWith("dc") || tl.equals("ib");
            }
        }
        final StringBuilder b = new StringBuilder("UCX ").append(version).append("; transports: ")
            .append(resources.isEmpty() ? "(none listed)" : String.join(", ", resources));
        if (!rdma)
        {
            b.append("; ").append(NO_RDMA);
        }
        return b.toString();
    }

    private static final String NO_RDMA = "no RDMA transport (no InfiniBand or RoCE device UCX can use): between " +
        "hosts UCX moves data over TCP, about as fast as ferry's own TCP backend";

    /** @return the warning part of {@link #summary()} (no RDMA transport), or null when UCX has RDMA here. */
    static String warning()
    {
        final String s = summary();
        final int at = s.indexOf(NO_RDMA);
        return at >= 0 ? NO_RDMA : s.contains("did not start") ? s : null;
    }
}
