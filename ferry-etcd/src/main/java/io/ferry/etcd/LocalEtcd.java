package io.ferry.etcd;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real etcd server (Debian's etcd-server) on free loopback ports with a temporary data directory, for tests and
 * tools (the chaos suite kills and restarts it under load). {@link #close()} stops it and removes its directory.
 */
public final class LocalEtcd implements AutoCloseable
{
    private final Path binary;
    private final int clientPort;
    private final int peerPort;
    private Path dataDir;
    private Process process;

    private LocalEtcd(final Path binary) throws IOException
    {
        this.binary = binary;
        this.clientPort = freePort();
        this.peerPort = freePort();
        this.dataDir = Files.createTempDirectory("ferry-etcd-test");
    }

    /**
     * @return the etcd binary, or null when etcd is not installed.
     */
    public static Path binary()
    {
        return Stream.of("/usr/bin/etcd", "/usr/local/bin/etcd").map(Path::of).filter(Files::isExecutable)
            .findFirst().orElse(null);
    }

    /**
     * @return a running etcd.
     * @throws IllegalStateException when etcd is not installed or does not become healthy.
     * @throws Exception when it cannot start.
     */
    public static LocalEtcd start() throws Exception
    {
        final Path binary = binary();
        if (null == binary)
        {
            throw new IllegalStateException("etcd is not installed (Debian: apt-get install etcd-server)");
        }
        final LocalEtcd server = new LocalEtcd(binary);
        server.launch();
        return server;
    }

    /**
     * @return the client URL.
     */
    public String endpoint()
    {
        return "http://127.0.0.1:" + clientPort;
    }

    /**
     * Starts etcd after {@link #stop()}, on the same ports and data.
     *
     * @throws Exception when it does not become healthy.
     */
    public void launch() throws Exception
    {
        final String peer = "http://127.0.0.1:" + peerPort;
        process = new ProcessBuilder(List.of(binary.toString(), "--name", "ferry-test", "--data-dir",
            dataDir.resolve("data").toString(), "--listen-client-urls", endpoint(), "--advertise-client-urls",
            endpoint(), "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster",
            "ferry-test=" + peer))
            .redirectErrorStream(true).redirectOutput(dataDir.resolve("etcd.log").toFile()).start();
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end)
        {
            if (!process.isAlive())
            {
                throw new IllegalStateException("etcd exited: " + Files.readString(dataDir.resolve("etcd.log")));
            }
            try
            {
                final HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                if (200 == r.statusCode() && r.body().contains("true"))
                {
                    return;
                }
            }
            catch (final IOException ignore)
            {
                // not up yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("etcd did not become healthy within 30 s");
    }

    /**
     * Stops etcd and starts it again on the same ports.
     *
     * @param wipe whether its data are gone too (a lost server), or kept (a restarted one).
     * @throws Exception when it does not come back.
     */
    public void restart(final boolean wipe) throws Exception
    {
        stop();
        if (wipe)
        {
            deleteTree(dataDir.resolve("data"));
        }
        launch();
    }

    /**
     * Stops etcd (SIGTERM, then SIGKILL after 10 s); {@link #restart} brings it back.
     *
     * @throws InterruptedException when interrupted while waiting.
     */
    public void stop() throws InterruptedException
    {
        if (null != process && process.isAlive())
        {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS))
            {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    public void close() throws IOException
    {
        try
        {
            stop();
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteTree(dataDir);
    }

    private static void deleteTree(final Path root) throws IOException
    {
        if (Files.exists(root))
        {
            try (Stream<Path> paths = Files.walk(root))
            {
                for (final Path p : paths.sorted(Comparator.reverseOrder()).toList())
                {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            return s.getLocalPort();
        }
    }
}
