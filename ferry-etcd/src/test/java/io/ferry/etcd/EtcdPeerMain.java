package io.ferry.etcd;

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
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * An agent in its own JVM that meets its peers through etcd. Arguments: etcd endpoint, namespace, own name, name
 * of the agent to fetch (or "-"), region size, lease TTL seconds. Prints READY once published (and the other agent
 * loaded), then obeys {@code crc OFFSET LENGTH} and {@code exit} on stdin.
 */
public final class EtcdPeerMain
{
    private EtcdPeerMain()
    {
    }

    /**
     * @param args see the class comment.
     * @throws Exception on failure (the test sees the process die).
     */
    public static void main(final String[] args) throws Exception
    {
        try (Arena arena = Arena.ofShared();
            Agent agent = Agent.create(AgentConfig.builder(args[2]).backend("TCP",
                Map.of("listen_address", "127.0.0.1", "crc32c", "true")).listenPort(-1).build());
            EtcdMetadata etcd = EtcdMetadata.builder(agent).endpoints(args[0]).namespace(args[1])
                .ttl(Duration.ofSeconds(Long.parseLong(args[5]))).build())
        {
            final MemorySegment mem = arena.allocate(Long.parseLong(args[4]), 4096);
            TestData.fill(mem, 7);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            etcd.publish();
            if (!"-".equals(args[3]))
            {
                etcd.fetch(args[3]).get();
            }
            System.out.println("READY");
            System.out.flush();
            final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while (null != (line = in.readLine()))
            {
                final String[] cmd = line.trim().split(" ");
                if ("crc".equals(cmd[0]))
                {
                    final CRC32C crc = new CRC32C();
                    crc.update(mem.asSlice(Long.parseLong(cmd[1]), Long.parseLong(cmd[2])).asByteBuffer());
                    System.out.println(crc.getValue());
                }
                else if ("exit".equals(cmd[0]))
                {
                    return;
                }
                System.out.flush();
            }
        }
    }
}
