package io.ferry.tcp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link PeerMain} in a child JVM and talks to it; {@link #close()} makes sure the child is gone.
 */
final class PeerProcess implements AutoCloseable
{
    final String name;
    final Process process;
    final byte[] metadata;
    private final BufferedReader out;
    private final PrintWriter in;

    PeerProcess(final String name, final long size, final Path dir, final String... params) throws Exception
    {
        this.name = name;
        final Path md = dir.resolve(name + ".md");
        final List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PeerMain.class.getName());
        cmd.add(name);
        cmd.add(Long.toString(size));
        cmd.add(md.toString());
        cmd.addAll(List.of(params));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final String ready = line(30);
        if (!"READY".equals(ready))
        {
            throw new IllegalStateException("peer " + name + " did not start: " + ready);
        }
        metadata = Files.readAllBytes(md);
    }

    /** Sends a command and returns its output lines before OK. */
    List<String> command(final String command, final int timeoutSeconds) throws Exception
    {
        in.println(command);
        final List<String> lines = new ArrayList<>();
        while (true)
        {
            final String l = line(timeoutSeconds);
            if (null == l)
            {
                throw new IllegalStateException("peer " + name + " died during '" + command + "'");
            }
            if ("OK".equals(l))
            {
                return lines;
            }
            lines.add(l);
        }
    }

    long crc(final long offset, final long length) throws Exception
    {
        return Long.parseLong(command("crc " + offset + " " + length, 60).getFirst());
    }

    private String line(final int timeoutSeconds) throws Exception
    {
        final CompletableFuture<String> f = CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return out.readLine();
            }
            catch (final IOException ex)
            {
                return null;
            }
        });
        return f.get(timeoutSeconds, TimeUnit.SECONDS);
    }

    void signal(final String signal) throws Exception
    {
        new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start().waitFor();
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
