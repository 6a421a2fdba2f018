package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.Fixtures;
import io.ferry.MemoryKind;
import io.ferry.Region;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An agent in a child JVM that owns VRAM (or host memory), for the IPC and TCP tests and benchmark. Args: name,
 * device, bytes, metadata file, and optionally the backend (default CUDA) and the memory kind (default VRAM).
 * Commands on stdin, each answered by one line: {@code crc} (CRC32C of the VRAM), {@code fill SEED},
 * {@code notif} (waits for a notification, prints its payload), {@code exit}.
 */
public final class CudaPeerMain
{
    private CudaPeerMain()
    {
    }

    /**
     * @param args name, device, bytes, metadata file.
     * @throws Exception on failure (the parent sees the process end).
     */
    public static void main(final String[] args) throws Exception
    {
        Gpu.require();
        final int device = Integer.parseInt(args[1]);
        final long size = Long.parseLong(args[2]);
        final String backend = args.length > 4 ? args[4] : "CUDA";
        final boolean vram = args.length <= 5 || "VRAM".equals(args[5]);
        final long p = Gpu.alloc(device, size);
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder(args[0]).backends(backend).build()))
        {
            final MemorySegment host = arena.allocate(size, 4096);
            TestData.fill(host, 1);
            Gpu.upload(device, p, host);
            agent.register(vram ? MemoryKind.VRAM : MemoryKind.DRAM, java.util.List.of(vram ?
                Region.ofAddress(p, size, device) : Region.of(host)));
            Files.write(Path.of(args[3]), agent.localMetadata());
            System.out.println("READY");
            final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while (null != (line = in.readLine()))
            {
                final String[] w = line.split(" ");
                switch (w[0])
                {
                    case "crc" ->
                    {
                        if (vram)
                        {
                            Gpu.download(device, host, p);
                        }
                        System.out.println(Gpu.crc(host));
                    }
                    case "fill" ->
                    {
                        TestData.fill(host, Long.parseLong(w[1]));
                        Gpu.upload(device, p, host);
                        System.out.println(Gpu.crc(host));
                    }
                    case "notif" -> System.out.println(agent.awaitNotification(Duration.ofSeconds(30))
                        .payloadAsString());
                    case "exit" ->
                    {
                        return;
                    }
                    default -> System.out.println("unknown " + w[0]);
                }
            }
        }
        finally
        {
            Gpu.free(device, p);
        }
    }
}
