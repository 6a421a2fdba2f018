package io.ferry.etcd;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.metadata.MetadataCodec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.zip.CRC32C;

import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Metadata exchange through a real etcd server: publish, fetch with a deadline, invalidate, watches (merge,
 * reconnect, lease expiry of a killed process), etcd restarts, and two processes that meet through etcd and move
 * data over TCP.
 */
@Timeout(120)
class EtcdMetadataTest
{
    private static LocalEtcd etcd;

    private Arena arena;
    private String namespace;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeAll
    static void startEtcd() throws Exception
    {
        etcd = EtcdServer.start();
    }

    @AfterAll
    static void stopEtcd() throws Exception
    {
        if (null != etcd)
        {
            etcd.close();
        }
    }

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        namespace = "/" + unique("ns");
    }

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            closeables.get(i).close();
        }
        arena.close();
    }

    private <T extends AutoCloseable> T track(final T c)
    {
        closeables.add(c);
        return c;
    }

    private Agent agent(final String name)
    {
        return track(Agent.create(AgentConfig.builder(name).backends("LOCAL").listenPort(-1).build()));
    }

    private EtcdMetadata etcdFor(final Agent agent, final int ttlSeconds)
    {
        return track(EtcdMetadata.builder(agent).endpoints(etcd.endpoint()).namespace(namespace)
            .ttl(Duration.ofSeconds(ttlSeconds)).fetchTimeout(Duration.ofSeconds(20)).build());
    }

    private static void eventually(final String what, final Duration limit, final BooleanSupplier condition)
        throws InterruptedException
    {
        final long end = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > end)
            {
                throw new AssertionError(what + " did not happen within " + limit);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void publishFetchAndInvalidate() throws Exception
    {
        final Agent a = agent(unique("a"));
        final Agent b = agent(unique("b"));
        final MemorySegment mem = arena.allocate(8192, 4096);
        a.register(MemoryKind.DRAM, List.of(Region.of(mem)));
        final EtcdMetadata ea = etcdFor(a, 10);
        final EtcdMetadata eb = etcdFor(b, 10);
        ea.publish();
        assertThat(eb.fetch(a.name()).get(20, TimeUnit.SECONDS)).isEqualTo(a.name());
        assertThat(b.checkRemote(a.name(), DescList.dram(mem))).isTrue();

        ea.invalidate();
        eventually("b drops a after a invalidated itself", Duration.ofSeconds(10), () -> !b.peers().contains(a.name()));
    }

    @Test
    void fetchWaitsForAPeerThatPublishesLaterAndTimesOutForOneThatNeverDoes() throws Exception
    {
        final Agent a = agent(unique("late"));
        final Agent b = agent(unique("waiter"));
        final EtcdMetadata eb = etcdFor(b, 10);
        final var pending = eb.fetch(a.name());
        Thread.sleep(300);
        assertThat(pending).isNotDone();
        etcdFor(a, 10).publish();
        assertThat(pending.get(20, TimeUnit.SECONDS)).isEqualTo(a.name());

        final ExecutionException ex = catchThrowableOfType(ExecutionException.class,
            () -> eb.fetch("nobody", EtcdMetadata.DEFAULT_LABEL, Duration.ofMillis(500)).get(20, TimeUnit.SECONDS));
        assertThat(((FerryException)ex.getCause()).code()).isEqualTo(ErrorCode.TIMED_OUT);
        assertThat(ex.getCause().getMessage()).contains("nobody");
    }

    @Test
    void newRegionsMergeAtWatchersAndChangedConnectionInfoReconnects() throws Exception
    {
        final String name = unique("moving");
        final Agent a = agent(name);
        final Agent b = agent(unique("watcher"));
        final EtcdMetadata ea = etcdFor(a, 10);
        final EtcdMetadata eb = etcdFor(b, 10);
        final MemorySegment first = arena.allocate(4096, 4096);
        a.register(MemoryKind.DRAM, List.of(Region.of(first)));
        ea.publish();
        eb.fetch(name).get(20, TimeUnit.SECONDS);

        final MemorySegment second = arena.allocate(4096, 4096);
        a.register(MemoryKind.DRAM, List.of(Region.of(second)));
        ea.publish();
        eventually("the new region reaches the watcher", Duration.ofSeconds(10),
            () -> b.checkRemote(name, DescList.dram(second)));

        // the agent restarts (new connection info) and publishes again under the same name
        ea.close();
        a.close();
        final Agent again = agent(name);
        final MemorySegment third = arena.allocate(4096, 4096);
        again.register(MemoryKind.DRAM, List.of(Region.of(third)));
        etcdFor(again, 10).publish();
        eventually("the watcher reconnects to the restarted agent", Duration.ofSeconds(10),
            () -> b.checkRemote(name, DescList.dram(third)));
        final MemorySegment src = arena.allocate(4096, 4096);
        b.register(MemoryKind.DRAM, List.of(Region.of(src)));
        final Transfer t = b.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(third), name, null);
        t.post();
        t.await(Duration.ofSeconds(10));
    }

    @Test
    void etcdRestartedWithItsDataLostDoesNotCrashAgentsAndTheyPublishAgain() throws Exception
    {
        final Agent a = agent(unique("survivor"));
        final Agent b = agent(unique("watcher"));
        final EtcdMetadata ea = etcdFor(a, 2);
        final EtcdMetadata eb = etcdFor(b, 2);
        ea.publish();
        eb.fetch(a.name()).get(20, TimeUnit.SECONDS);
        final EtcdClient client = new EtcdClient(List.of(java.net.URI.create(etcd.endpoint())), Duration.ofSeconds(2));
        assertThat(client.get(ea.key(a.name(), EtcdMetadata.DEFAULT_LABEL))).isPresent();

        etcd.restart(true); // its data directory is wiped: the key is gone until the agent publishes again
        eventually("the agent publishes again", Duration.ofSeconds(15),
            () -> client.get(ea.key(a.name(), EtcdMetadata.DEFAULT_LABEL)).isPresent());
        assertThat(MetadataCodec.decode(client.get(ea.key(a.name(), EtcdMetadata.DEFAULT_LABEL)).orElseThrow()
            .value()).name()).isEqualTo(a.name());
        assertThat(a.isClosed()).isFalse();

        // the watcher's stream broke with the restart; it watches again, so a's exit still reaches it
        Thread.sleep(500);
        assertThat(b.peers()).contains(a.name());
        ea.invalidate();
        eventually("the watcher sees a leave after the restart", Duration.ofSeconds(15),
            () -> !b.peers().contains(a.name()));
    }

    @Test
    void twoProcessesMeetThroughEtcdMoveDataOverTcpAndAKilledOneExpires() throws Exception
    {
        final String childName = unique("child");
        try (Agent parent = Agent.create(AgentConfig.builder(unique("parent")).backend("TCP",
                Map.of("listen_address", "127.0.0.1", "crc32c", "true")).listenPort(-1).build());
            EtcdMetadata ep = EtcdMetadata.builder(parent).endpoints(etcd.endpoint()).namespace(namespace)
                .ttl(Duration.ofSeconds(2)).build())
        {
            final MemorySegment local = arena.allocate(1 << 20, 4096);
            io.ferry.testing.TestData.fill(local, 99);
            parent.register(MemoryKind.DRAM, List.of(Region.of(local)));
            ep.publish();

            final List<String> cmd = List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                EtcdPeerMain.class.getName(), etcd.endpoint(), namespace, childName, parent.name(),
                Integer.toString(1 << 20), "2");
            final Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try
            {
                final BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
                final PrintWriter in = new PrintWriter(child.getOutputStream(), true, StandardCharsets.UTF_8);
                assertThat(out.readLine()).isEqualTo("READY");
                assertThat(child.isAlive()).isTrue();

                final String name = ep.fetch(childName).get(20, TimeUnit.SECONDS);
                final long base = MetadataCodec.decode(new EtcdClient(List.of(java.net.URI.create(etcd.endpoint())),
                    Duration.ofSeconds(2)).get(ep.key(childName, EtcdMetadata.DEFAULT_LABEL)).orElseThrow().value())
                    .regions().getFirst().address();
                final Transfer t = parent.createTransfer(TransferOp.WRITE, DescList.dram(local),
                    DescList.builder(MemoryKind.DRAM).add(base, 1 << 20).build(), name, null);
                t.post();
                t.await(Duration.ofSeconds(20));
                in.println("crc 0 " + (1 << 20));
                final CRC32C crc = new CRC32C();
                crc.update(local.asByteBuffer());
                assertThat(Long.parseLong(out.readLine())).isEqualTo(crc.getValue());

                // an observer that loaded the child but never connected to it can only learn of its death from
                // etcd: the lease expires within its TTL, the key goes, the watch invalidates the child
                final Agent observer = track(Agent.create(AgentConfig.builder(unique("observer")).backend("TCP",
                    Map.of("listen_address", "127.0.0.1")).listenPort(-1).build()));
                final EtcdMetadata eo = track(EtcdMetadata.builder(observer).endpoints(etcd.endpoint())
                    .namespace(namespace).ttl(Duration.ofSeconds(2)).build());
                eo.fetch(childName).get(20, TimeUnit.SECONDS);
                assertThat(observer.peers()).contains(childName);
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                final long killed = System.nanoTime();
                eventually("the killed child's lease expires and the observer drops it", Duration.ofSeconds(15),
                    () -> !observer.peers().contains(childName));
                assertThat(Duration.ofNanos(System.nanoTime() - killed)).as("not before the lease could expire")
                    .isGreaterThan(Duration.ofMillis(500));
                eventually("the parent drops it too", Duration.ofSeconds(15),
                    () -> !parent.peers().contains(childName));
            }
            finally
            {
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void badSettingsAreRefused()
    {
        final Agent a = agent(unique("bad"));
        for (final Runnable r : List.<Runnable>of(
            () -> EtcdMetadata.builder(a).endpoints(),
            () -> EtcdMetadata.builder(a).endpoints("ftp://x"),
            () -> EtcdMetadata.builder(a).namespace("/ends/"),
            () -> EtcdMetadata.builder(a).ttl(Duration.ofMillis(10))))
        {
            final FerryException ex = catchThrowableOfType(FerryException.class, r::run);
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.INVALID_PARAM);
        }
    }
}
