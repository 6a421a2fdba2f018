package io.ferry.contract;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.testing.TestData;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A ferry agent in its own JVM for the two-process tests of any backend. Arguments: name, region size, metadata
 * file, backend, then the backend's parameters as key=value. It registers one region, writes its metadata to the
 * file, prints READY, then obeys one command per stdin line: {@code fill SEED}, {@code crc OFFSET LENGTH},
 * {@code load FILE}, {@code notif TIMEOUT_MS} (prints sender and payload), {@code notifcrc TIMEOUT_MS OFFSET LENGTH}
 * (also the CRC of a span the moment the notification is taken), {@code exit}. Each command ends with OK.
 */
public final class ContractPeerMain
{
    private ContractPeerMain()
    {
    }

    /**
     * @param args name, size, metadata file, backend, parameters.
     * @throws Exception on any failure (the test sees the process die).
     */
    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> params = new LinkedHashMap<>();
        for (int i = 4; i < args.length; i++)
        {
            final int eq = args[i].indexOf('=');
            params.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder(args[0]).backend(args[3], params).listenPort(-1).build()))
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
                    case "fill" -> TestData.fill(mem, Long.parseLong(cmd[1]));
                    case "crc" -> System.out.println(crc(mem.asSlice(Long.parseLong(cmd[1]), Long.parseLong(cmd[2]))));
                    case "load" -> System.out.println(agent.loadRemoteMetadata(Files.readAllBytes(Path.of(cmd[1]))));
                    case "notif" ->
                    {
                        final Notification n = agent.awaitNotification(Duration.ofMillis(Long.parseLong(cmd[1])));
                        System.out.println(n.sender() + " " + n.payloadAsString());
                    }
                    case "notifcrc" ->
                    {
                        final Notification n = agent.awaitNotification(Duration.ofMillis(Long.parseLong(cmd[1])));
                        final long crc = crc(mem.asSlice(Long.parseLong(cmd[2]), Long.parseLong(cmd[3])));
                        System.out.println(n.sender() + " " + n.payloadAsString() + " " + crc);
                    }
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

    /**
     * @param segment bytes.
     * @return their CRC-32C.
     */
    public static long crc(final MemorySegment segment)
    {
        final CRC32C crc = new CRC32C();
        final long chunk = 1 << 30;
        for (long off = 0; off < segment.byteSize(); off += chunk)
        {
            crc.update(segment.asSlice(off, Math.min(chunk, segment.byteSize() - off)).asByteBuffer());
        }
        return crc.getValue();
    }
}
