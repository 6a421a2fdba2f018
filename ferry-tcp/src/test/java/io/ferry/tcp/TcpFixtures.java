package io.ferry.tcp;

import io.ferry.Agent;
import io.ferry.AgentConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * Helpers for TCP tests: agents on loopback with CRC32C on, thread checks (patterns come from
 * {@link io.ferry.Fixtures}).
 */
final class TcpFixtures
{
    private TcpFixtures()
    {
    }

    /**
     * @param name  the peer agent's name.
     * @param size  bytes of its region.
     * @param dir   where its metadata file goes.
     * @param extra more TCP parameters, key=value.
     * @return a TCP peer in a child JVM (the two-process contract's peer).
     */
    static io.ferry.contract.ContractPeer peer(final String name, final long size, final java.nio.file.Path dir,
        final String... extra) throws Exception
    {
        final java.util.List<String> params = new java.util.ArrayList<>(java.util.List.of("listen_address=127.0.0.1",
            "crc32c=true"));
        params.addAll(java.util.List.of(extra));
        return new io.ferry.contract.ContractPeer(name, size, dir, "TCP", params.toArray(new String[0]));
    }

    static Agent tcpAgent(final String prefix, final String... extra)
    {
        final Map<String, String> params = new HashMap<>();
        params.put("listen_address", "127.0.0.1");
        params.put("crc32c", "true");
        for (int i = 0; i + 1 < extra.length; i += 2)
        {
            params.put(extra[i], extra[i + 1]);
        }
        return Agent.create(AgentConfig.builder(io.ferry.Fixtures.unique(prefix)).backend("TCP", params)
            .defaultTimeout(java.time.Duration.ofSeconds(20)).build());
    }

    /**
     * Opens a raw connection to a target's data port, reads its challenge and sends a HELLO as {@code who} with no
     * MAC; the target's answer is left to the caller.
     */
    static java.nio.channels.SocketChannel sayHello(final java.net.InetSocketAddress address, final String who,
        final String targetName) throws java.io.IOException
    {
        final java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(address);
        BlockingSocketIo.readFully(ch, java.nio.ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY));
        BlockingSocketIo.writeFully(ch, Handshake.hello(who, targetName, 0, new byte[Frames.MAC_LENGTH]));
        return ch;
    }

    /** @return one whole frame read off a connection (header and body), flipped. */
    static java.nio.ByteBuffer readFrame(final java.nio.channels.SocketChannel ch) throws java.io.IOException
    {
        final java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(Frames.HEADER_LENGTH);
        BlockingSocketIo.readFully(ch, h);
        final java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(h.getInt(4));
        BlockingSocketIo.readFully(ch, body);
        return java.nio.ByteBuffer.allocate(Frames.HEADER_LENGTH + body.capacity()).put(h.flip()).put(body.flip())
            .flip();
    }

    static long liveThreads(final String agentName)
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && t.getName().startsWith("ferry-tcp-" + agentName)).count();
    }
}
