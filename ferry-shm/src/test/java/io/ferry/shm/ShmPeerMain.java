package io.ferry.shm;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A ferry agent in its own JVM for the SHM two-process tests. Arguments: name, region size, metadata file, memory
 * ("shm" for a ShmArena, "plain" for an ordinary arena), backends ("SHM" or "SHM,TCP"), then SHM parameters as
 * key=value. It registers one region, writes its metadata to the file, prints READY, then obeys one command per
 * stdin line: {@code fill SEED}, {@code crc OFFSET LENGTH}, {@code load FILE}, {@code notif TIMEOUT_MS},
 * {@code free} (closes the arena, the region still registered), {@code exit}.
 */
public final class ShmPeerMain
{
    private ShmPeerMain()
    {
    }

    /**
     * @param args see the class comment.
     * @throws Exception on any failure (the test sees the process die).
     */
    @SuppressWarnings("try") // "free" closes the arena early on purpose
    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> params = new HashMap<>();
        for (int i = 5; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        final AgentConfig.Builder config = AgentConfig.builder(args[0]).backend("SHM", params);
        if (args[4].contains("TCP"))
        {
            config.backend("TCP", Map.of("listen_address", "127.0.0.1"));
        }
        try (Arena arena = "shm".equals(args[3]) ? ShmArena.open() : Arena.ofShared();
            Agent agent = Agent.create(config.build()))
        {
            final MemorySegment mem = arena.allocate(Long.parseLong(args[1]), 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            final Path out = Path.of(args[2]);
            final Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            Files.write(tmp, agent.localMetadata());
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            System.out.println("READY");
            System.out.flush();
            final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while (null != (line = in.readLine()))
            {
                final String[] cmd = line.trim().split(" ");
                switch (cmd[0])
                {
                    case "fill" -> io.ferry.testing.TestData.fill(mem, Long.parseLong(cmd[1]));
                    case "crc" -> System.out.println(crc(mem.asSlice(Long.parseLong(cmd[1]), Long.parseLong(cmd[2]))));
                    case "load" -> System.out.println(agent.loadRemoteMetadata(Files.readAllBytes(Path.of(cmd[1]))));
                    case "notif" ->
                    {
                        final Notification n = agent.awaitNotification(Duration.ofMillis(Long.parseLong(cmd[1])));
                        System.out.println(n.sender() + " " + n.payloadAsString() + (n.isFailure() ? " FAILED " +
                            n.failureReason() : ""));
                    }
                    case "free" -> arena.close(); // memory freed behind the agent's back, still registered
                    case "exit" ->
                    {
                        return;
                    }
                    default -> System.out.println("unknown command " + cmd[0]);
                }
                System.out.println("OK");
                System.out.flush();
            }
        }
    }

    static long crc(final MemorySegment segment)
    {
        return io.ferry.contract.ContractPeerMain.crc(segment);
    }
}
