package io.ferry.bench.chaos;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ChaosTarget} in its own JVM, with what the suite does to it (signals, commands) and reads of it (RSS,
 * threads, open files from /proc). {@link #close()} makes sure it is gone.
 */
final class ChaosProcess implements AutoCloseable
{
    final String name;
    final int tcpPort;
    final int metadataPort;
    private final Process process;
    private final PrintWriter stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private ChaosProcess(final String name, final Process process) throws Exception
    {
        this.name = name;
        this.process = process;
        this.stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8));
        Thread.ofVirtual().start(() ->
        {
            try
            {
                String l;
                while (null != (l = out.readLine()))
                {
                    lines.add(l);
                }
            }
            catch (final IOException ignore)
            {
                // the process ended
            }
        });
        final String ready = lines.poll(60, TimeUnit.SECONDS);
        if (null == ready || !ready.startsWith("READY "))
        {
            process.destroyForcibly();
            throw new IllegalStateException("target " + name + " did not start: " + ready);
        }
        final String[] ports = ready.substring(6).trim().split(" ");
        metadataPort = Integer.parseInt(ports[0]);
        tcpPort = Integer.parseInt(ports[1]);
    }

    /**
     * Starts a target.
     *
     * @param name         agent name.
     * @param tcpPort      its TCP port (0: any).
     * @param metadataPort its metadata port (0: any).
     * @param bytes        its region's size.
     * @param etcd         an etcd endpoint to publish to, or null.
     * @param secret       its auth secret, or null.
     * @param params       TCP parameters, key=value.
     * @return the running target.
     * @throws Exception when it does not start.
     */
    static ChaosProcess start(final String name, final int tcpPort, final int metadataPort, final long bytes,
        final String etcd, final String secret, final String... params) throws Exception
    {
        return startIn(null, "127.0.0.1", name, tcpPort, metadataPort, bytes, etcd, secret, params);
    }

    /**
     * Starts a target in a network namespace.
     *
     * @param namespace the namespace (null: this process's).
     * @param bind      the address its metadata listener binds.
     * @return the running target.
     * @throws Exception when it does not start.
     */
    static ChaosProcess startIn(final String namespace, final String bind, final String name, final int tcpPort,
        final int metadataPort, final long bytes, final String etcd, final String secret, final String... params)
        throws Exception
    {
        final List<String> cmd = new ArrayList<>();
        if (null != namespace)
        {
            cmd.addAll(List.of("ip", "netns", "exec", namespace));
        }
        // a heap committed and touched at start: RSS then shows native growth, not the heap filling up
        cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch",
            "-Dferry.chaos.bind=" + bind, "-cp", System.getProperty("java.class.path"),
            ChaosTarget.class.getName(), name, Integer.toString(tcpPort), Integer.toString(metadataPort),
            Long.toString(bytes), null == etcd ? "-" : etcd));
        cmd.addAll(List.of(params));

        final ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        final Map<String, String> env = pb.environment();
        env.remove("FERRY_AUTH_SECRET");
        if (null != secret)
        {
            env.put("FERRY_AUTH_SECRET", secret);
        }
        return new ChaosProcess(name, pb.start());
    }

    long pid()
    {
        return process.pid();
    }

    boolean alive()
    {
        return process.isAlive();
    }

    /** Sends a signal by name (KILL, STOP, CONT). */
    void signal(final String signal) throws Exception
    {
        new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start()
            .waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGKILL, and waits for the process to be gone. */
    void kill() throws Exception
    {
        signal("KILL");
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** @return live threads ferry started in the target. */
    long ferryThreads() throws InterruptedException
    {
        return Long.parseLong(command("threads"));
    }

    /** @return the target's heap in use after a full GC, in bytes. */
    long heapAfterGc() throws InterruptedException
    {
        return Long.parseLong(command("gc"));
    }

    /** @return the command's output line before OK. */
    String command(final String command) throws InterruptedException
    {
        stdin.println(command);
        final String answer = lines.poll(30, TimeUnit.SECONDS);
        final String ok = lines.poll(30, TimeUnit.SECONDS);
        if (!"OK".equals(ok))
        {
            throw new IllegalStateException("target " + name + " answered '" + answer + "' then '" + ok + "'");
        }
        return answer;
    }

    /** @return resident memory in bytes. */
    long rss() throws IOException
    {
        return status(pid(), "VmRSS:") * 1024;
    }

    /** @return live threads. */
    long threads() throws IOException
    {
        return status(pid(), "Threads:");
    }

    /** @return open file descriptors. */
    long fds() throws IOException
    {
        return openFiles(pid());
    }

    static long status(final long pid, final String field) throws IOException
    {
        for (final String l : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
        {
            if (l.startsWith(field))
            {
                return Long.parseLong(l.substring(field.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no " + field + " in /proc/" + pid + "/status");
    }

    static long openFiles(final long pid) throws IOException
    {
        try (var s = Files.list(Path.of("/proc/" + pid + "/fd")))
        {
            return s.count();
        }
    }

    public void close()
    {
        if (process.isAlive())
        {
            stdin.println("exit");
            try
            {
                if (!process.waitFor(5, TimeUnit.SECONDS))
                {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException ex)
            {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
