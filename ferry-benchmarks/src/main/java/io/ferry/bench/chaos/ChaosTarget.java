package io.ferry.bench.chaos;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.etcd.EtcdMetadata;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The chaos suite's target: an agent in its own JVM on loopback with one DRAM region, a metadata listener and a
 * TCP backend on the ports it is given, publishing to etcd when given an endpoint. Arguments: name, TCP port,
 * metadata port, region bytes, etcd endpoint or "-", then TCP parameters as key=value. Prints
 * {@code READY <metadata port> <TCP port>}, counts the notifications it gets, and answers stdin commands:
 * {@code notifications} (prints the count), {@code threads} (live threads ferry started), {@code gc} (a full GC, then prints the heap in use), {@code exit}. The
 * system property {@code ferry.chaos.bind} is the address both listeners bind (default 127.0.0.1). {@code FERRY_AUTH_SECRET} sets its secret.
 */
public final class ChaosTarget
{
    private ChaosTarget()
    {
    }

    /** @return live platform threads whose names say ferry started them (the JVM's own come and go by themselves). */
    static long ferryThreads()
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && t.getName().startsWith("ferry-")).count();
    }

    /**
     * @param args see the class comment.
     * @throws Exception on any failure (the suite sees the process die).
     */
    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> params = new HashMap<>();
        final String bind = System.getProperty("ferry.chaos.bind", "127.0.0.1");
        params.put("listen_address", bind);
        params.put("listen_port", args[1]);
        for (int i = 5; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        final String secret = System.getenv("FERRY_AUTH_SECRET");
        final AtomicLong notifications = new AtomicLong();
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder(args[0]).listenAddress(bind)
                .listenPort(Integer.parseInt(args[2])).backend("TCP", params).authSecret(secret)
                .defaultTimeout(Duration.ofSeconds(10)).build());
            EtcdMetadata etcd = "-".equals(args[4]) ? null : EtcdMetadata.builder(agent).endpoints(args[4])
                .ttl(Duration.ofSeconds(5)).build())
        {
            final MemorySegment mem = arena.allocate(Long.parseLong(args[3]), 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            if (null != etcd)
            {
                etcd.publish();
            }
            final Thread counter = Thread.ofVirtual().start(() ->
            {
                while (!Thread.currentThread().isInterrupted())
                {
                    try
                    {
                        agent.awaitNotification(Duration.ofSeconds(1));
                        notifications.incrementAndGet();
                    }
                    catch (final io.ferry.FerryException ex)
                    {
                        if (io.ferry.ErrorCode.TIMED_OUT != ex.code())
                        {
                            return;
                        }
                    }
                }
            });
            final String info = new String(io.ferry.metadata.MetadataCodec.decode(agent.localMetadata())
                .connectionInfo().get("TCP"), StandardCharsets.US_ASCII); // "ferry-tcp/1 <host> host:port,..."
            final String first = info.split(" ")[2].split(",")[0];
            System.out.println("READY " + agent.metadataAddress().orElseThrow().getPort() + " " +
                first.substring(first.lastIndexOf(':') + 1));
            System.out.flush();
            final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while (null != (line = in.readLine()))
            {
                switch (line.trim())
                {
                    case "notifications" -> System.out.println(notifications.get());
                    case "threads" -> System.out.println(ferryThreads());
                    case "gc" ->
                    {
                        System.gc();
                        final Runtime rt = Runtime.getRuntime();
                        System.out.println(rt.totalMemory() - rt.freeMemory());
                    }
                    case "exit" ->
                    {
                        counter.interrupt();
                        return;
                    }
                    default -> System.out.println("unknown command " + line);
                }
                System.out.println("OK");
                System.out.flush();
            }
            counter.interrupt();
        }
    }
}
