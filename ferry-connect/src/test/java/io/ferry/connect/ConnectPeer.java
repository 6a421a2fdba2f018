package io.ferry.connect;

import io.ferry.testing.ChildJvm;

import java.util.List;

/**
 * Runs {@link ConnectPeerMain} in a child JVM; {@link #close()} makes sure it is gone.
 */
final class ConnectPeer implements AutoCloseable
{
    final Process process;
    private final ChildJvm child;

    ConnectPeer(final String name) throws Exception
    {
        child = new ChildJvm(List.of("-Xmx256m"), ConnectPeerMain.class, name);
        process = child.process();
        final String ready = child.line(30);
        if (!"READY".equals(ready))
        {
            child.close();
            throw new IllegalStateException("peer " + name + " did not start: " + ready);
        }
    }

    /** Sends a command and returns its answer (the lines before OK, joined). */
    String command(final String command, final int timeoutSeconds) throws Exception
    {
        return String.join("\n", child.command(command, timeoutSeconds));
    }

    public void close()
    {
        child.close();
    }
}
