package io.ferry.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The ferry command in a child JVM (one side of a two-process run): its output lines are collected, and the
 * metadata port it prints ("metadata on port N") is waited for; {@link #close()} makes sure it is gone.
 */
final class ChildCli implements AutoCloseable
{
    private static final Pattern PORT = Pattern.compile("metadata on port (\\d+)");

    final Process process;
    final int port;
    final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());

    ChildCli(final String... args) throws Exception
    {
        this(java.util.Map.of(), args);
    }

    /**
     * @param env  environment variables to set for the child.
     * @param args its command line.
     * @throws Exception when it does not start listening.
     */
    ChildCli(final java.util.Map<String, String> env, final String... args) throws Exception
    {
        final List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            FerryCommand.class.getName()));
        cmd.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        process = pb.start();
        final BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8));
        final CompletableFuture<Integer> ready = new CompletableFuture<>();
        final Thread reader = new Thread(() ->
        {
            try
            {
                String l;
                while (null != (l = out.readLine()))
                {
                    lines.add(l);
                    final Matcher m = PORT.matcher(l);
                    if (m.find())
                    {
                        ready.complete(Integer.parseInt(m.group(1)));
                    }
                }
            }
            catch (final java.io.IOException ex)
            {
                // it ended
            }
            ready.completeExceptionally(new IllegalStateException("ferry " + String.join(" ", args) +
                " ended before it listened: " + lines));
        });
        reader.setDaemon(true);
        reader.start();
        port = ready.get(90, TimeUnit.SECONDS);
    }

    /** @return its exit code once it ended (-1 when it had to be killed after 90 s). */
    int finish() throws Exception
    {
        if (!process.waitFor(90, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            return -1;
        }
        process.waitFor();
        Thread.sleep(50); // let the reader take the last lines
        return process.exitValue();
    }

    String output()
    {
        synchronized (lines)
        {
            return String.join("\n", lines);
        }
    }

    public void close()
    {
        process.destroyForcibly();
        try
        {
            process.waitFor(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
