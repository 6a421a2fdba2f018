package io.ferry.testing;

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
 * A test's peer in a child JVM (same java, same class path), driven by lines on its stdin and answering on its
 * stdout; stderr goes to the test's. {@link #close()} asks it to exit and makes sure it is gone.
 */
public final class ChildJvm implements AutoCloseable
{
    private final Process process;
    private final BufferedReader out;
    private final PrintWriter in;

    /**
     * @param jvmFlags extra JVM flags (e.g. -Xmx256m).
     * @param main     the class whose main runs.
     * @param args     its arguments.
     * @throws IOException when the JVM cannot start.
     */
    public ChildJvm(final List<String> jvmFlags, final Class<?> main, final String... args) throws IOException
    {
        this(List.of(), jvmFlags, main, args);
    }

    /**
     * @param launcher words before the java command (e.g. {@code unshare --pid --fork}), or none.
     * @param jvmFlags extra JVM flags (e.g. -Xmx256m).
     * @param main     the class whose main runs.
     * @param args     its arguments.
     * @throws IOException when the JVM cannot start.
     */
    public ChildJvm(final List<String> launcher, final List<String> jvmFlags, final Class<?> main,
        final String... args) throws IOException
    {
        final List<String> cmd = new ArrayList<>(launcher);
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    }

    /**
     * @return the child process.
     */
    public Process process()
    {
        return process;
    }

    /**
     * @param line a line for the child's stdin.
     */
    public void send(final String line)
    {
        in.println(line);
    }

    /**
     * @param timeoutSeconds the most to wait.
     * @return the child's next output line, or null when its output ended.
     * @throws Exception on timeout.
     */
    public String line(final int timeoutSeconds) throws Exception
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

    /**
     * Sends a command and collects the lines the child answers before a line "OK".
     *
     * @param command        the command.
     * @param timeoutSeconds the most to wait for each line.
     * @return the answer's lines.
     * @throws Exception on timeout, or IllegalStateException when the child died.
     */
    public List<String> command(final String command, final int timeoutSeconds) throws Exception
    {
        send(command);
        final List<String> lines = new ArrayList<>();
        while (true)
        {
            final String l = line(timeoutSeconds);
            if (null == l)
            {
                throw new IllegalStateException("the child died during '" + command + "'");
            }
            if ("OK".equals(l))
            {
                return lines;
            }
            lines.add(l);
        }
    }

    /**
     * Sends "exit", waits up to 10 s, then kills what is left.
     */
    public void close()
    {
        try
        {
            if (process.isAlive())
            {
                send("exit");
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
