package io.ferry;

import io.ferry.metadata.MetadataCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The metadata plane against strangers: declared lengths cost nothing until their bytes arrive, a trickling sender
 * is cut at the request's deadline, connections and loaded agents are capped, and with a secret only clients that
 * prove it are served — while the client side sends nothing to a listener that does not prove it.
 */
@Timeout(60)
class MetadataPlaneSecurityTest
{
    private static final short MAGIC = 0x464D;
    private final List<AutoCloseable> closing = new ArrayList<>();

    private Agent agent(final String prefix, final String secret, final Duration timeout)
    {
        final Agent a = Agent.create(AgentConfig.builder(unique(prefix)).backends("LOCAL").listenAddress("127.0.0.1")
            .authSecret(secret).defaultTimeout(timeout).build());
        closing.add(a);
        return a;
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = closing.size() - 1; i >= 0; i--)
        {
            closing.get(i).close();
        }
    }

    private static int port(final Agent a)
    {
        return a.metadataAddress().orElseThrow().getPort();
    }

    private static void header(final DataOutputStream out, final int type, final int length) throws IOException
    {
        out.writeShort(MAGIC);
        out.writeByte(1);
        out.writeByte(type);
        out.writeInt(length);
        out.flush();
    }

    private static long usedHeap()
    {
        final Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void declaredLengthsAreNotAllocatedBeforeTheirBytesArrive() throws Exception
    {
        final Agent target = agent("target", null, Duration.ofSeconds(20));
        final List<Socket> strangers = new ArrayList<>();
        try
        {
            System.gc();
            final long before = usedHeap();
            for (int i = 0; i < 5; i++)
            {
                final Socket s = new Socket("127.0.0.1", port(target));
                strangers.add(s);
                header(new DataOutputStream(s.getOutputStream()), 1, 256 << 20); // LOAD of 256 MiB, nothing after
            }
            Thread.sleep(500); // the listener has read every header and waits for the bodies
            final long grown = usedHeap() - before;
            // five 256 MiB buffers would be 1.25 GiB; the listener holds a 64 KiB start per body at most
            assertThat(grown).as("heap grown while 5 x 256 MiB bodies are declared").isLessThan(64L << 20);
        }
        finally
        {
            for (final Socket s : strangers)
            {
                s.close();
            }
        }
        // and it still serves
        final Agent peer = agent("peer", null, Duration.ofSeconds(10));
        assertThat(peer.fetchMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS)).isEqualTo(target.name());
    }

    @Test
    void aTricklingSenderIsCutAtTheRequestsDeadline() throws Exception
    {
        final Agent target = agent("target", null, Duration.ofMillis(800));
        try (Socket s = new Socket("127.0.0.1", port(target)))
        {
            final DataOutputStream out = new DataOutputStream(s.getOutputStream());
            header(out, 1, 1000);
            final long start = System.nanoTime();
            final InputStream in = s.getInputStream();
            s.setSoTimeout(100);
            boolean closed = false;
            // one byte every 100 ms: each read is quick, the whole request is not
            for (int i = 0; i < 100 && !closed; i++)
            {
                try
                {
                    out.write(0);
                    out.flush();
                    closed = in.read() < 0;
                }
                catch (final java.net.SocketTimeoutException ex)
                {
                    // still open
                }
                catch (final IOException ex)
                {
                    closed = true;
                }
            }
            final long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(closed).as("the listener closed the trickling connection").isTrue();
            assertThat(ms).as("closed near the 800 ms deadline, not after 100 trickled bytes").isLessThan(5_000);
        }
    }

    @Test
    void connectionsBeyondTheCapAreClosedAtAcceptAndTheListenerRecovers() throws Exception
    {
        final Agent target = Agent.create(AgentConfig.builder(unique("target")).backends("LOCAL")
            .listenAddress("127.0.0.1").metadataLimits(8, 4).defaultTimeout(Duration.ofSeconds(20)).build());
        closing.add(target);
        final List<Socket> held = new ArrayList<>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                held.add(new Socket("127.0.0.1", port(target)));
            }
            Thread.sleep(200);
            try (Socket extra = new Socket("127.0.0.1", port(target)))
            {
                extra.setSoTimeout(5000);
                assertThat(extra.getInputStream().read()).as("the ninth connection is closed at once").isEqualTo(-1);
            }
        }
        finally
        {
            for (final Socket s : held)
            {
                s.close();
            }
        }
        final Agent peer = agent("peer", null, Duration.ofSeconds(10));
        awaitServed(() -> peer.fetchMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS));
    }

    @Test
    void oneClientMayLoadOnlySoManyAgents() throws Exception
    {
        final Agent target = Agent.create(AgentConfig.builder(unique("target")).backends("LOCAL")
            .listenAddress("127.0.0.1").metadataLimits(8, 3).defaultTimeout(Duration.ofSeconds(20)).build());
        closing.add(target);
        for (int i = 0; i < 3; i++)
        {
            final Agent fake = agent("fake" + i, null, Duration.ofSeconds(10));
            fake.sendMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS);
        }
        final Agent fourth = agent("fake3", null, Duration.ofSeconds(10));
        final ExecutionException ex = catchThrowableOfType(ExecutionException.class,
            () -> fourth.sendMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS));
        assertThat(((FerryException)ex.getCause()).code()).isEqualTo(ErrorCode.NOT_ALLOWED);
        assertThat(ex.getCause().getMessage()).contains("has loaded 3 agents");
        assertThat(target.peers()).hasSize(3);
    }

    private interface Call
    {
        Object run() throws Exception;
    }

    /** Retries for a moment: a closed connection's slot is freed when its thread ends. */
    private static void awaitServed(final Call call) throws Exception
    {
        final long end = System.nanoTime() + 10_000_000_000L;
        while (true)
        {
            try
            {
                call.run();
                return;
            }
            catch (final ExecutionException ex)
            {
                if (System.nanoTime() > end)
                {
                    throw ex;
                }
                Thread.sleep(50);
            }
        }
    }

    @Test
    void withASecretAStrangersRequestsAreRefusedAndAgentsWithTheSecretAreServed() throws Exception
    {
        final Agent target = agent("target", "s3cret", Duration.ofSeconds(10));
        // a raw LOAD without the challenge-response: refused before its body is read
        final byte[] blob = agent("mallory", null, Duration.ofSeconds(10)).localMetadata();
        try (Socket s = new Socket("127.0.0.1", port(target)))
        {
            final DataOutputStream out = new DataOutputStream(s.getOutputStream());
            header(out, 1, blob.length);
            final DataInputStream in = new DataInputStream(s.getInputStream());
            assertThat(in.readShort()).isEqualTo(MAGIC);
            in.readByte();
            assertThat(in.readByte()).as("ERROR reply").isEqualTo((byte)5);
            final byte[] body = new byte[in.readInt()];
            in.readFully(body);
            assertThat(new String(body, java.nio.charset.StandardCharsets.UTF_8)).contains("NOT_ALLOWED")
                .contains("requires auth_secret");
        }
        // a client with another secret (or none): refused, for LOAD, FETCH and INVALIDATE alike
        for (final String wrong : new String[] {"other", null})
        {
            final Agent stranger = agent("stranger", wrong, Duration.ofSeconds(10));
            for (final Call call : List.<Call>of(
                () -> stranger.sendMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS),
                () -> stranger.fetchMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS),
                () -> stranger.invalidateAt("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS)))
            {
                final ExecutionException ex = catchThrowableOfType(ExecutionException.class, call::run);
                assertThat(ex).as("secret " + wrong).isNotNull();
                assertThat(((FerryException)ex.getCause()).code()).isEqualTo(ErrorCode.NOT_ALLOWED);
            }
        }
        assertThat(target.peers()).isEmpty();
        // the right secret: served both ways
        final Agent friend = agent("friend", "s3cret", Duration.ofSeconds(10));
        friend.sendMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS);
        assertThat(target.peers()).containsExactly(friend.name());
        assertThat(friend.fetchMetadata("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS)).isEqualTo(target.name());
        friend.invalidateAt("127.0.0.1", port(target)).get(10, TimeUnit.SECONDS);
        assertThat(target.peers()).isEmpty();
    }

    @Test
    void aClientWithASecretSendsNothingToAListenerThatDoesNotProveIt() throws Exception
    {
        // a fake listener that speaks the protocol but does not know the secret: it answers HELLO with a challenge
        // and a zero proof, then records whatever comes
        try (ServerSocket fake = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()))
        {
            final AtomicLong received = new AtomicLong();
            final Thread t = Thread.ofVirtual().start(() ->
            {
                try (Socket s = fake.accept())
                {
                    final DataInputStream in = new DataInputStream(s.getInputStream());
                    final DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    in.readFully(new byte[8 + 32]); // HELLO
                    header(out, 7, 64);
                    out.write(new byte[64]);
                    out.flush();
                    final byte[] buf = new byte[65536];
                    int n;
                    while ((n = in.read(buf)) > 0)
                    {
                        received.addAndGet(n);
                    }
                }
                catch (final IOException ignore)
                {
                    // the client went away
                }
            });
            final Agent client = agent("client", "s3cret", Duration.ofSeconds(10));
            final ExecutionException ex = catchThrowableOfType(ExecutionException.class,
                () -> client.sendMetadata("127.0.0.1", fake.getLocalPort()).get(10, TimeUnit.SECONDS));
            assertThat(((FerryException)ex.getCause()).code()).isEqualTo(ErrorCode.NOT_ALLOWED);
            assertThat(ex.getCause().getMessage()).contains("did not prove auth_secret");
            t.join(5000);
            assertThat(received.get()).as("bytes the fake listener got after its challenge").isZero();
        }
    }

    @Test
    void sealedRecordsOpenOnlyWithTheSameSecret()
    {
        final Agent a = agent("a", "s3cret", Duration.ofSeconds(10));
        final Agent same = agent("same", "s3cret", Duration.ofSeconds(10));
        final Agent other = agent("other", "nope", Duration.ofSeconds(10));
        final Agent none = agent("none", null, Duration.ofSeconds(10));
        final byte[] record = a.sealRecord(a.localMetadata());
        assertThat(MetadataCodec.decode(same.openRecord(record, "k")).name()).isEqualTo(a.name());
        assertThat(catchThrowableOfType(FerryException.class, () -> other.openRecord(record, "k")).code())
            .isEqualTo(ErrorCode.NOT_ALLOWED);
        assertThat(catchThrowableOfType(FerryException.class, () -> none.openRecord(record, "k")).code())
            .isEqualTo(ErrorCode.NOT_ALLOWED);
        final byte[] bare = none.sealRecord(none.localMetadata());
        assertThat(catchThrowableOfType(FerryException.class, () -> same.openRecord(bare, "k")).getMessage())
            .contains("not sealed");
        final byte[] altered = record.clone();
        altered[altered.length - 1] ^= 1;
        assertThat(catchThrowableOfType(FerryException.class, () -> same.openRecord(altered, "k")).getMessage())
            .contains("fails its auth_secret MAC");
    }

    @Test
    void theSecretReachesBackendsOnceAndIsNeverShown()
    {
        final Agent a = agent("a", "s3cret", Duration.ofSeconds(10));
        assertThat(a.toString() + AgentConfig.builder("x").authSecret("s3cret").build()).doesNotContain("s3cret");
        // LOCAL has no auth_secret parameter: nothing to set there, nothing to conflict
        try (Agent local = Agent.create(AgentConfig.builder(unique("c")).backend("LOCAL", java.util.Map.of())
            .listenPort(-1).authSecret("x").build()))
        {
            assertThat(local.backendParams("LOCAL").params()).doesNotContainKey("auth_secret");
        }
    }
}
