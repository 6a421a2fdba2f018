package io.ferry.tcp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 1,000 connections opened at a target's data port by a stranger who never says HELLO: the target (its own JVM,
 * measured through /proc) starts no thread and allocates no buffer per connection beyond its handshake cap, and
 * is back to its baseline when they close. Before the caps, 1,000 such connections cost about 620 KiB each.
 */
@Timeout(120)
class ConnectionFloodTest
{
    @TempDir
    Path dir;

    private static long status(final long pid, final String field) throws IOException
    {
        for (final String l : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
        {
            if (l.startsWith(field))
            {
                return Long.parseLong(l.substring(field.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException(field);
    }

    @Test
    void aThousandSilentConnectionsCostBoundedMemoryAndThreadsAndLeaveNothingBehind() throws Exception
    {
        try (io.ferry.contract.ContractPeer target = TcpFixtures.peer(io.ferry.Fixtures.unique("flooded"), 1 << 20, dir,
            "connect_timeout_ms=60000"))
        {
            final long pid = target.process.pid();
            final InetSocketAddress at = Endpoints.decode(target.name, io.ferry.metadata.MetadataCodec
                .decode(target.metadata).connectionInfo().get("TCP")).addresses().getFirst();
            Thread.sleep(500);
            final long rss0 = status(pid, "VmRSS:");
            final long threads0 = status(pid, "Threads:");
            final List<SocketChannel> held = new ArrayList<>();
            try
            {
                for (int i = 0; i < 1000; i++)
                {
                    final SocketChannel ch = SocketChannel.open();
                    ch.configureBlocking(false);
                    ch.connect(at);
                    held.add(ch);
                }
                Thread.sleep(2000);
                final long rss = status(pid, "VmRSS:");
                final long threads = status(pid, "Threads:");
                // 64 handshakes at once (max_unauthenticated_connections) each with its thread; the rest closed
                assertThat(threads - threads0).as("threads added").isLessThanOrEqualTo(64 + 4);
                assertThat(rss - rss0).as("KiB of RSS added by 1,000 connections").isLessThan(64 * 1024);
            }
            finally
            {
                for (final SocketChannel ch : held)
                {
                    ch.close();
                }
            }
            final long end = System.nanoTime() + 20_000_000_000L;
            long threads = status(pid, "Threads:");
            while (threads > threads0 + 2 && System.nanoTime() < end)
            {
                Thread.sleep(100);
                threads = status(pid, "Threads:");
            }
            assertThat(threads).as("threads after the connections closed").isLessThanOrEqualTo(threads0 + 2);
        }
    }
}
