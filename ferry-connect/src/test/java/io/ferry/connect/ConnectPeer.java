package io.ferry.connect;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link ConnectPeerMain} in a child JVM; {@link #close()} makes sure it is gone.
 */
final class ConnectPeer implements AutoCloseable
{
    final Process process;
    private final BufferedReader out;
    private final PrintWriter in;

    ConnectPeer(final String name) throws Exception
    {
        final List<String> cmd = List.of(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
            ConnectPeerMain.class.getName(), name);
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final String ready = line(30);
        if (!"READY".equals(ready))
        {
            close();
            throw new IllegalStateException("peer " + name + " did not start: " + ready);
        }
    }

    /** Sends a command and returns its single answer line. */
    String command(final String command, final int timeoutSeconds) throws Exception
    {
        in.println(command);
        final List<String> lines = new ArrayList<>();
        while (true)
        {
            final String l = line(timeoutSeconds);
            if (null == l)
            {
                throw new IllegalStateException("peer died during '" + command + "'");
            }
            if ("OK".equals(l))
            {
                return String.join("\n", lines);
            }
            lines.add(l);
        }
    }

    private String line(final int timeoutSeconds) throws Exception
    {
        return CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return out.readLine();
            }
            catch (final IOException ex)
            {
                return null;
            }
        }).get(timeoutSeconds, TimeUnit.SECONDS);
    }

    public void close()
    {
        try
        {
            if (process.isAlive())
            {
                in.println("exit");
                if (!process.waitFor(10, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                }
            }
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
