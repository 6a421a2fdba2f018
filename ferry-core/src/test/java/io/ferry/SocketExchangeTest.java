package io.ferry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The embedded socket metadata exchange: send, fetch, invalidate, partial metadata, unreachable and silent peers,
 * hostile bytes.
 */
@Timeout(60)
class SocketExchangeTest
{
    private Arena arena;
    private Agent a;
    private Agent b;

    private static Agent agent(final String prefix, final Duration timeout)
    {
        return Agent.create(AgentConfig.builder(unique(prefix)).backends("LOCAL").listenAddress("127.0.0.1")
            .defaultTimeout(timeout).build());
    }

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        a = agent("a", Duration.ofSeconds(10));
        b = agent("b", Duration.ofSeconds(10));
    }

    @AfterEach
    void tearDown()
    {
        final String an = a.name();
        a.close();
        b.close();
        arena.close();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.isAlive() &&
            t.getName().startsWith("ferry-md-" + an));
    }

    private int portOf(final Agent agent)
    {
        return agent.metadataAddress().orElseThrow().getPort();
    }

    @Test
    void sendFetchInvalidate() throws Exception
    {
        final MemorySegment mem = arena.allocate(8192, 4096);
        a.register(MemoryKind.DRAM, List.of(Region.of(mem)));

        a.sendMetadata("127.0.0.1", portOf(b)).get(10, TimeUnit.SECONDS);
        assertThat(b.peers()).containsExactly(a.name());
        assertThat(b.checkRemote(a.name(), DescList.dram(mem))).isTrue();

        assertThat(b.fetchMetadata("localhost", portOf(a)).get(10, TimeUnit.SECONDS)).isEqualTo(a.name());
        assertThat(a.fetchMetadata("127.0.0.1", portOf(b)).get(10, TimeUnit.SECONDS)).isEqualTo(b.name());
        assertThat(a.peers()).containsExactly(b.name());

        a.invalidateAt("127.0.0.1", portOf(b)).get(10, TimeUnit.SECONDS);
        assertThat(b.peers()).isEmpty();
        a.invalidateAt("127.0.0.1", portOf(b)).get(10, TimeUnit.SECONDS);
    }

    @Test
    void partialMetadataMergesAtThePeer() throws Exception
    {
        final MemorySegment first = arena.allocate(4096, 4096);
        final MemorySegment second = arena.allocate(4096, 4096);
        final Registration r1 = a.register(MemoryKind.DRAM, List.of(Region.of(first)));
        final Registration r2 = a.register(MemoryKind.DRAM, List.of(Region.of(second)));
        a.sendMetadata("127.0.0.1", portOf(b), a.partialMetadata(r1.descs(), true)).get(10, TimeUnit.SECONDS);
        assertThat(b.checkRemote(a.name(), DescList.dram(first))).isTrue();
        assertThat(b.checkRemote(a.name(), DescList.dram(second))).isFalse();
        a.sendMetadata("127.0.0.1", portOf(b), a.partialMetadata(r2.descs(), false)).get(10, TimeUnit.SECONDS);
        assertThat(b.checkRemote(a.name(), DescList.dram(second))).isTrue();
    }

    @Test
    void peerErrorsComeBackWithTheirCode()
    {
        try (Agent impostor = Agent.create(AgentConfig.builder(unique("imp")).backends("LOCAL").listenPort(-1)
            .build()))
        {
            // b refuses its own metadata
            final ExecutionException own = catchThrowableOfType(ExecutionException.class,
                () -> b.sendMetadata("127.0.0.1", portOf(b)).get(10, TimeUnit.SECONDS));
            assertThat(((FerryException)own.getCause()).code()).isEqualTo(ErrorCode.INVALID_PARAM);
            // garbage blob is MISMATCH at the peer
            final ExecutionException garbage = catchThrowableOfType(ExecutionException.class,
                () -> impostor.sendMetadata("127.0.0.1", portOf(b), new byte[] {1, 2, 3}).get(10, TimeUnit.SECONDS));
            assertThat(((FerryException)garbage.getCause()).code()).isEqualTo(ErrorCode.MISMATCH);
            assertThat(garbage.getCause().getMessage()).contains("refused");
        }
    }

    @Test
    void unreachableAddressFailsTheFutureWithoutBlockingTheCaller() throws Exception
    {
        final int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            closedPort = probe.getLocalPort();
        }
        final CompletableFuture<String> f = a.fetchMetadata("127.0.0.1", closedPort);
        final ExecutionException ex = catchThrowableOfType(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertThat(((FerryException)ex.getCause()).code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
        final ExecutionException unknown = catchThrowableOfType(ExecutionException.class,
            () -> a.sendMetadata("no-such-host.invalid", 9, new byte[0]).get(10, TimeUnit.SECONDS));
        assertThat(((FerryException)unknown.getCause()).code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
    }

    @Test
    void silentPeerTimesOutAtTheDeadline() throws Exception
    {
        try (ServerSocket silent = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
            Agent quick = agent("quick", Duration.ofMillis(500)))
        {
            final CompletableFuture<String> f = quick.fetchMetadata("127.0.0.1", silent.getLocalPort());
            assertThat(f).as("the call returned before any reply").isNotDone();
            final Socket held = silent.accept();
            final ExecutionException ex = catchThrowableOfType(ExecutionException.class,
                () -> f.get(10, TimeUnit.SECONDS));
            assertThat(((FerryException)ex.getCause()).code()).isEqualTo(ErrorCode.TIMED_OUT);
            held.close();
        }
    }

    @Test
    void hostileBytesCloseTheirConnectionAndTheListenerKeepsServing() throws Exception
    {
        final InetSocketAddress addr = new InetSocketAddress("127.0.0.1", portOf(b));
        for (final byte[] junk : new byte[][] {
            {0x46, 0x4D, 1, 1, 0x7F, (byte)0xFF, (byte)0xFF, (byte)0xFF},
            {0x46, 0x4D, 9, 1, 0, 0, 0, 0},
            {0x46, 0x4D, 1, 42, 0, 0, 0, 0},
            "GET / HTTP/1.1\r\n\r\n".getBytes(),
            {0x46, 0x4D, 1, 1, 0, 0, 0, 100, 1, 2}})
        {
            try (Socket s = new Socket())
            {
                s.connect(addr, 2000);
                s.setSoTimeout(15_000);
                final DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.write(junk);
                out.flush();
                s.shutdownOutput();
                final int first = new DataInputStream(s.getInputStream()).read();
                assertThat(first).as("connection closed without a reply").isEqualTo(-1);
            }
        }
        assertThat(b.fetchMetadata("127.0.0.1", portOf(a)).get(10, TimeUnit.SECONDS)).isEqualTo(a.name());
        a.sendMetadata("127.0.0.1", portOf(b)).get(10, TimeUnit.SECONDS);
        assertThat(b.peers()).contains(a.name());
    }

    @Test
    void listenerCanBeTurnedOffAndBadPortsAreRefused()
    {
        try (Agent off = Agent.create(AgentConfig.builder(unique("off")).backends("LOCAL").listenPort(-1).build()))
        {
            assertThat(off.metadataAddress()).isEmpty();
        }
        Fixtures.expectError(ErrorCode.INVALID_PARAM, () -> AgentConfig.builder("x").listenPort(70000));
        Fixtures.expectError(ErrorCode.INVALID_PARAM, () -> a.fetchMetadata("127.0.0.1", 0));
    }

    @Test
    void tenThousandRegionsTravelInOneFetch() throws Exception
    {
        final int n = 10_000;
        final MemorySegment big = arena.allocate((long)n * 256, 4096);
        final List<Region> regions = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++)
        {
            regions.add(Region.of(big.asSlice((long)i * 256, 256)));
        }
        a.register(MemoryKind.DRAM, regions);
        assertThat(b.fetchMetadata("127.0.0.1", portOf(a)).get(30, TimeUnit.SECONDS)).isEqualTo(a.name());
        assertThat(b.checkRemote(a.name(), DescList.dram(big.asSlice((long)(n - 1) * 256, 256)))).isTrue();
    }
}
