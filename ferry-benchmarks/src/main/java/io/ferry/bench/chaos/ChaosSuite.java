package io.ferry.bench.chaos;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.etcd.EtcdMetadata;
import io.ferry.etcd.LocalEtcd;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * ferry's chaos suite: what happens to an initiator when its target dies, freezes, restarts, loses a link, sits
 * idle, loses etcd, is flooded with connections, or serves a long mixed load. Each scenario is measured against its
 * goal and printed as a row of one Markdown table (also written to {@code --out DIR}/chaos.md). Targets are real
 * processes ({@link ChaosTarget}); every byte moved is checked. {@code bench/chaos/run} builds and runs it (in a
 * network namespace of its own when root, for the flapping link); {@code --short} is a two-minute run, the default
 * is the full one (idle up to 10 minutes, a 10-minute soak). Exit code 0 when every row met its goal.
 */
public final class ChaosSuite
{
    private static final long MIB = 1 << 20;

    /**
     * One result.
     *
     * @param scenario what was done.
     * @param goal     what must hold.
     * @param measured what was measured.
     * @param met      whether the goal held.
     */
    record Row(String scenario, String goal, String measured, boolean met)
    {
    }

    private interface Scenario
    {
        List<Row> run() throws Exception;
    }

    private final boolean full;
    private final List<Row> rows = new ArrayList<>();
    private final Arena arena = Arena.ofShared();

    private ChaosSuite(final boolean full)
    {
        this.full = full;
    }

    /**
     * @param args {@code [--short] [--out DIR] [--only NAME]}.
     * @throws Exception on a failure outside the scenarios.
     */
    public static void main(final String[] args) throws Exception
    {
        boolean full = true;
        Path out = null;
        String only = null;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--short" -> full = false;
                case "--out" -> out = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        final ChaosSuite suite = new ChaosSuite(full);
        final int failed = suite.runAll(only);
        final String table = suite.table();
        System.out.println(table);
        if (null != out)
        {
            Files.createDirectories(out);
            Files.writeString(out.resolve("chaos.md"), table);
        }
        System.exit(0 == failed ? 0 : 1);
    }

    private int runAll(final String only) throws Exception
    {
        final Map<String, Scenario> all = new java.util.LinkedHashMap<>();
        all.put("kill", this::killedMidTransfer);
        all.put("freeze", this::frozenPeer);
        all.put("restart", this::restartedOnTheSamePort);
        all.put("flap", this::flappingLink);
        all.put("idle", this::idleThenTransfer);
        all.put("etcd", this::etcdKilledUnderLoad);
        all.put("connections", this::thousandConnections);
        all.put("soak", this::soak);
        for (final Map.Entry<String, Scenario> e : all.entrySet())
        {
            if (null != only && !only.equals(e.getKey()))
            {
                continue;
            }
            System.err.println("chaos: " + e.getKey() + " ...");
            try
            {
                rows.addAll(e.getValue().run());
            }
            catch (final Exception | AssertionError ex)
            {
                rows.add(new Row(e.getKey(), "runs", "error: " + ex, false));
            }
            System.err.println("chaos: " + e.getKey() + " done");
        }
        arena.close();
        return (int)rows.stream().filter(r -> !r.met()).count();
    }

    private String table()
    {
        final StringBuilder sb = new StringBuilder("| scenario | goal | measured | met |\n|---|---|---|---|\n");
        for (final Row r : rows)
        {
            sb.append("| ").append(r.scenario()).append(" | ").append(r.goal()).append(" | ").append(r.measured())
                .append(" | ").append(r.met() ? "yes" : "**no**").append(" |\n");
        }
        return sb.toString();
    }

    // ---- helpers ----

    private static int freePort() throws IOException
    {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            return s.getLocalPort();
        }
    }

    private static String unique(final String prefix)
    {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000;
    }

    private static Agent initiator(final String... params)
    {
        final Map<String, String> p = new HashMap<>();
        p.put("listen_address", "127.0.0.1");
        for (int i = 0; i + 1 < params.length; i += 2)
        {
            p.put(params[i], params[i + 1]);
        }
        return Agent.create(AgentConfig.builder(unique("chaos-init")).listenPort(-1).backend("TCP", p)
            .defaultTimeout(Duration.ofSeconds(30)).build());
    }

    private static String load(final Agent a, final ChaosProcess t) throws Exception
    {
        return a.fetchMetadata("127.0.0.1", t.metadataPort).get(30, TimeUnit.SECONDS);
    }

    /** The target's region as the initiator names it: its first (only) region. */
    private static long remoteBase(final Agent a, final String peer)
    {
        return a.peerRegions(peer, MemoryKind.DRAM).address(0);
    }

    private static Transfer transfer(final Agent a, final TransferOp op, final MemorySegment local,
        final long remote, final String peer, final byte[] notification)
    {
        return a.createTransfer(op, DescList.dram(local),
            DescList.builder(MemoryKind.DRAM).add(remote, local.byteSize()).build(), peer,
            null == notification ? null : TransferOptions.notify(notification));
    }

    private static void fillRandom(final MemorySegment s, final long seed)
    {
        final SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i + 8 <= s.byteSize(); i += 8)
        {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
    }

    /**
     * Fills {@code local} with the round's bytes, WRITEs it, READs it back into {@code back}.
     *
     * @return whether the bytes came back the same.
     * @throws FerryException when a transfer fails.
     */
    private static boolean writeThenReadBack(final Transfer w, final Transfer r, final MemorySegment local,
        final MemorySegment back, final int round)
    {
        fillRandom(local, round);
        w.post();
        w.await(Duration.ofSeconds(30));
        r.post();
        r.await(Duration.ofSeconds(30));
        return -1 == local.mismatch(back);
    }

    private static String ms(final double ms)
    {
        return String.format("%.0f ms", ms);
    }

    private static String mib(final long bytes)
    {
        return String.format("%.0f MiB", bytes / (double)MIB);
    }

    // ---- scenarios ----

    /** A target SIGKILLed while WRITEs stream to it: the initiator's error within 2 s of the kill. */
    private List<Row> killedMidTransfer() throws Exception
    {
        try (ChaosProcess t = ChaosProcess.start(unique("victim"), 0, 0, 64 * MIB, null, null);
            Agent a = initiator())
        {
            final MemorySegment local = arena.allocate(16 * MIB, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String peer = load(a, t);
            final long base = remoteBase(a, peer);
            final AtomicLong failedAt = new AtomicLong();
            final AtomicReference<FerryException> error = new AtomicReference<>();
            final AtomicLong done = new AtomicLong();
            final Thread load = Thread.ofPlatform().start(() ->
            {
                try
                {
                    final Transfer tr = transfer(a, TransferOp.WRITE, local, base, peer, null);
                    while (true)
                    {
                        tr.post();
                        tr.await(Duration.ofSeconds(30));
                        done.incrementAndGet();
                    }
                }
                catch (final FerryException ex)
                {
                    failedAt.set(System.nanoTime());
                    error.set(ex);
                }
            });
            Thread.sleep(1000);
            final long killedAt = System.nanoTime();
            t.kill();
            load.join(30_000);
            final double delay = (failedAt.get() - killedAt) / 1e6;
            final ErrorCode code = null == error.get() ? null : error.get().code();
            return List.of(new Row("peer SIGKILLed mid-transfer (" + done.get() + " WRITEs of 16 MiB before)",
                "REMOTE_DISCONNECT within 2 s of the kill", code + " after " + ms(delay),
                ErrorCode.REMOTE_DISCONNECT == code && delay <= 2000));
        }
    }

    /** A target SIGSTOPped: the request ends at ack_timeout_ms, within 10%. */
    private List<Row> frozenPeer() throws Exception
    {
        final int ackMs = full ? 10_000 : 2_000;
        try (ChaosProcess t = ChaosProcess.start(unique("frozen"), 0, 0, 64 * MIB, null, null);
            Agent a = initiator("ack_timeout_ms", Integer.toString(ackMs)))
        {
            final MemorySegment local = arena.allocate(16 * MIB, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String peer = load(a, t);
            final Transfer tr = transfer(a, TransferOp.WRITE, local, remoteBase(a, peer), peer, null);
            tr.post();
            tr.await(Duration.ofSeconds(30));
            t.signal("STOP");
            try
            {
                final long start = System.nanoTime();
                ErrorCode code = null;
                try
                {
                    tr.post();
                    tr.await(Duration.ofMillis(ackMs * 3L));
                }
                catch (final FerryException ex)
                {
                    code = ex.code();
                }
                final double took = (System.nanoTime() - start) / 1e6;
                return List.of(new Row("peer SIGSTOPped (frozen), ack_timeout_ms " + ackMs + ", 4 paths",
                    "REMOTE_DISCONNECT at the deadline ± 10%", code + " after " + ms(took) + String.format(" (%.2f x)",
                    took / ackMs), ErrorCode.REMOTE_DISCONNECT == code && Math.abs(took - ackMs) <= 0.1 * ackMs));
            }
            finally
            {
                t.signal("CONT");
            }
        }
    }

    /** A target killed and started again on the same ports: after reloading its metadata the next transfer works. */
    private List<Row> restartedOnTheSamePort() throws Exception
    {
        final String name = unique("phoenix");
        final int tcp = freePort();
        final int md = freePort();
        try (Agent a = initiator())
        {
            final MemorySegment local = arena.allocate(4 * MIB, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local)));
            String first = "none";
            try (ChaosProcess t = ChaosProcess.start(name, tcp, md, 64 * MIB, null, null))
            {
                final String peer = load(a, t);
                final Transfer tr = transfer(a, TransferOp.WRITE, local, remoteBase(a, peer), peer, null);
                tr.post();
                tr.await(Duration.ofSeconds(30));
                t.kill();
                try (ChaosProcess again = ChaosProcess.start(name, tcp, md, 64 * MIB, null, null))
                {
                    try
                    {
                        tr.post();
                        tr.await(Duration.ofSeconds(30));
                        first = "DONE (stale request served?)";
                    }
                    catch (final FerryException ex)
                    {
                        first = ex.code().name();
                    }
                    if (a.peers().contains(peer))
                    {
                        a.invalidateRemote(peer);
                    }
                    load(a, again);
                    fillRandom(local, 17);
                    final MemorySegment back = arena.allocate(4 * MIB, 4096);
                    a.register(MemoryKind.DRAM, List.of(Region.of(back)));
                    final long base = remoteBase(a, peer);
                    final Transfer w = transfer(a, TransferOp.WRITE, local, base, peer, null);
                    w.post();
                    w.await(Duration.ofSeconds(30));
                    final Transfer r = transfer(a, TransferOp.READ, back, base, peer, null);
                    r.post();
                    r.await(Duration.ofSeconds(30));
                    final boolean same = -1 == local.mismatch(back);
                    return List.of(new Row("peer killed and restarted on the same ports", "the next transfer " +
                        "after reloading its metadata succeeds", "first post after the restart: " + first +
                        "; after reload: WRITE+READ of 4 MiB " + (same ? "DONE, bytes OK" : "bytes DIFFER"), same &&
                        !first.startsWith("DONE")));
                }
            }
        }
    }

    /**
     * Two links between two network namespaces (made by bench/chaos/run), two of the four paths on each; link 1
     * goes down for 1.5 s out of every 3 while WRITE + READ-back rounds run: nothing fails, every byte checks.
     */
    private List<Row> flappingLink() throws Exception
    {
        final String scenario = "link flapping under load (link 1 of 2, paths 0 and 2: 1.5 s down, 1.5 s up)";
        final String peerNs = System.getenv("FERRY_CHAOS_PEER_NS");
        final String link = System.getenv("FERRY_CHAOS_LINK");
        if (null == peerNs || null == link)
        {
            return List.of(new Row(scenario, "every transfer DONE, every byte checked", "skipped: needs root for " +
                "two network namespaces (bench/chaos/run makes them when run as root)", true));
        }
        final long seconds = full ? 60 : 12;
        try (ChaosProcess t = ChaosProcess.startIn(peerNs, "0.0.0.0", unique("flappy"), 0, 0, 64 * MIB, null, null,
            "advertise_addresses=10.88.1.2,10.88.2.2");
            Agent a = initiator("paths", "4", "ack_timeout_ms", "3000", "reconnect_interval_ms", "200"))
        {
            final MemorySegment local = arena.allocate(32 * MIB, 4096);
            final MemorySegment back = arena.allocate(32 * MIB, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local), Region.of(back)));
            final String peer = a.fetchMetadata("10.88.2.2", t.metadataPort).get(30, TimeUnit.SECONDS);
            final long base = remoteBase(a, peer);
            long ok = 0;
            long failed = 0;
            long outages = 0;
            String lastError = "";
            boolean down = false;
            try
            {
                final long end = System.nanoTime() + seconds * 1_000_000_000L;
                long nextFlip = System.nanoTime() + 1_500_000_000L;
                final Transfer w = transfer(a, TransferOp.WRITE, local, base, peer, null);
                final Transfer r = transfer(a, TransferOp.READ, back, base, peer, null);
                int round = 0;
                while (System.nanoTime() < end)
                {
                    if (System.nanoTime() > nextFlip)
                    {
                        down = !down;
                        outages += down ? 1 : 0;
                        sh("ip", "link", "set", "dev", link, down ? "down" : "up");
                        nextFlip = System.nanoTime() + 1_500_000_000L;
                    }
                    try
                    {
                        if (writeThenReadBack(w, r, local, back, ++round))
                        {
                            ok++;
                        }
                        else
                        {
                            failed++;
                            lastError = "bytes differ";
                        }
                    }
                    catch (final FerryException ex)
                    {
                        failed++;
                        lastError = ex.code() + ": " + ex.getMessage();
                        if (!a.peers().contains(peer))
                        {
                            a.fetchMetadata("10.88.2.2", t.metadataPort).get(30, TimeUnit.SECONDS);
                        }
                    }
                }
            }
            finally
            {
                if (down)
                {
                    sh("ip", "link", "set", "dev", link, "up");
                }
            }
            return List.of(new Row(scenario + ", " + seconds + " s", "every transfer DONE, every byte checked",
                ok + " WRITE+READ rounds of 32 MiB DONE and verified, " + failed + " failed, over " + outages +
                " outages" + (0 == failed ? "" : " (" + lastError + ")"), 0 == failed && ok > 0));
        }
    }

    private static void sh(final String... cmd) throws Exception
    {
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || 0 != p.exitValue())
        {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.trim());
        }
    }

    /** After each idle period, 1,000 transfers posted at once: every one DONE. */
    private List<Row> idleThenTransfer() throws Exception
    {
        final long[] idles = full ? new long[] {5, 60, 600} : new long[] {5};
        final List<Row> out = new ArrayList<>();
        try (ChaosProcess t = ChaosProcess.start(unique("sleepy"), 0, 0, 64 * MIB, null, null);
            Agent a = initiator())
        {
            final int n = 1000;
            final MemorySegment local = arena.allocate(n * 65536L, 4096);
            fillRandom(local, 99);
            a.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String peer = load(a, t);
            final long base = remoteBase(a, peer);
            final List<Transfer> transfers = new ArrayList<>();
            for (int i = 0; i < n; i++)
            {
                transfers.add(transfer(a, i % 2 == 0 ? TransferOp.WRITE : TransferOp.READ,
                    local.asSlice(i * 65536L, 65536), base + i * 65536L, peer, null));
            }
            transfers.getFirst().post();
            transfers.getFirst().await(Duration.ofSeconds(30));
            for (final long idle : idles)
            {
                Thread.sleep(idle * 1000);
                int ok = 0;
                String why = "";
                for (final Transfer tr : transfers)
                {
                    tr.post();
                }
                for (final Transfer tr : transfers)
                {
                    try
                    {
                        tr.await(Duration.ofSeconds(60));
                        ok++;
                    }
                    catch (final FerryException ex)
                    {
                        why = ex.code().name();
                    }
                }
                out.add(new Row("first transfers after " + idle + " s idle", n + " of " + n + " DONE",
                    ok + " of " + n + " DONE (64 KiB each, half READ, posted at once)" + (why.isEmpty() ? "" :
                    ", last error " + why), ok == n));
            }
        }
        return out;
    }

    /** etcd stopped and started again while transfers run: no transfer fails; metadata is served again. */
    private List<Row> etcdKilledUnderLoad() throws Exception
    {
        final String scenario = "etcd stopped for 3 s and restarted under load";
        if (null == LocalEtcd.binary())
        {
            return List.of(new Row(scenario, "no transfer fails; metadata served again", "skipped: etcd is not " +
                "installed (Debian: etcd-server)", false));
        }
        try (LocalEtcd etcd = LocalEtcd.start();
            ChaosProcess t = ChaosProcess.start(unique("etcd-target"), 0, 0, 64 * MIB, etcd.endpoint(), null);
            Agent a = initiator();
            EtcdMetadata md = EtcdMetadata.builder(a).endpoints(etcd.endpoint()).build())
        {
            final MemorySegment local = arena.allocate(4 * MIB, 4096);
            final MemorySegment back = arena.allocate(4 * MIB, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local), Region.of(back)));
            final String peer = md.fetch(t.name).get(30, TimeUnit.SECONDS);
            final long base = remoteBase(a, peer);
            final AtomicLong ok = new AtomicLong();
            final AtomicLong failed = new AtomicLong();
            final AtomicReference<String> why = new AtomicReference<>("");
            final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            final Thread load = Thread.ofPlatform().start(() ->
            {
                final Transfer w = transfer(a, TransferOp.WRITE, local, base, peer, null);
                final Transfer r = transfer(a, TransferOp.READ, back, base, peer, null);
                int round = 0;
                while (!stop.get())
                {
                    try
                    {
                        if (writeThenReadBack(w, r, local, back, ++round))
                        {
                            ok.incrementAndGet();
                        }
                        else
                        {
                            failed.incrementAndGet();
                            why.set("bytes differ");
                        }
                    }
                    catch (final FerryException ex)
                    {
                        failed.incrementAndGet();
                        why.set(ex.code().name());
                        return;
                    }
                }
            });
            Thread.sleep(2000);
            etcd.stop();
            Thread.sleep(3000);
            etcd.launch();
            final long back2 = System.nanoTime();
            double fetchMs = -1;
            try (Agent late = initiator(); EtcdMetadata lateMd = EtcdMetadata.builder(late)
                .endpoints(etcd.endpoint()).build())
            {
                lateMd.fetch(t.name).get(30, TimeUnit.SECONDS);
                fetchMs = (System.nanoTime() - back2) / 1e6;
            }
            catch (final Exception ex)
            {
                why.set(why.get() + " late fetch: " + ex);
            }
            Thread.sleep(2000);
            stop.set(true);
            load.join(60_000);
            return List.of(new Row(scenario, "no transfer fails; the target's metadata can be fetched again",
                ok.get() + " WRITE+READ rounds of 4 MiB verified, " + failed.get() + " failed" +
                (why.get().isEmpty() ? "" : " (" + why.get() + ")") + "; a new agent fetched the target's metadata " +
                (fetchMs < 0 ? "never" : ms(fetchMs) + " after etcd was back"),
                0 == failed.get() && ok.get() > 0 && fetchMs >= 0));
        }
    }

    /** 1,000 connections at the data and metadata ports (and 1,000 wrong-secret handshakes): bounded, then back. */
    private List<Row> thousandConnections() throws Exception
    {
        final List<Row> out = new ArrayList<>();
        try (ChaosProcess t = ChaosProcess.start(unique("flooded"), 0, 0, 64 * MIB, null, "s3cret");
            Agent a = Agent.create(AgentConfig.builder(unique("chaos-init")).listenPort(-1)
                .backend("TCP", Map.of("listen_address", "127.0.0.1")).authSecret("s3cret").build()))
        {
            final MemorySegment local = arena.allocate(4 * MIB, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String peer = load(a, t);
            final Transfer w = transfer(a, TransferOp.WRITE, local, remoteBase(a, peer), peer, null);
            w.post();
            w.await(Duration.ofSeconds(30));
            final int dataPort = t.tcpPort;
            for (final String what : List.of("data", "metadata", "wrong-secret"))
            {
                System.gc();
                Thread.sleep(1000);
                final long rss0 = t.rss();
                final long threads0 = t.threads();
                final long fds0 = t.fds();
                long peakRss = rss0;
                long peakThreads = threads0;
                int opened;
                if ("wrong-secret".equals(what))
                {
                    opened = wrongSecretHandshakes(dataPort, t.name, 1000);
                    peakRss = Math.max(peakRss, t.rss());
                    peakThreads = Math.max(peakThreads, t.threads());
                }
                else
                {
                    final List<SocketChannel> held = open("data".equals(what) ? dataPort : t.metadataPort, 1000);
                    opened = held.size();
                    Thread.sleep(1000);
                    peakRss = Math.max(peakRss, t.rss());
                    peakThreads = Math.max(peakThreads, t.threads());
                    for (final SocketChannel ch : held)
                    {
                        ch.close();
                    }
                }
                Thread.sleep(3000);
                final long rss1 = t.rss();
                final long threads1 = t.threads();
                final long fds1 = t.fds();
                w.post();
                w.await(Duration.ofSeconds(30)); // still serving
                final boolean met = peakRss - rss0 <= 128 * MIB && rss1 - rss0 <= 32 * MIB &&
                    peakThreads - threads0 <= 80 && threads1 - threads0 <= 2 && fds1 - fds0 <= 2;
                out.add(new Row("1,000 " + ("wrong-secret".equals(what) ? "handshakes with a wrong secret at the " +
                    "data port" : "connections opened and held at the " + what + " port"),
                    "target RSS and threads bounded, back to baseline after; still serving",
                    opened + " " + ("wrong-secret".equals(what) ? "refused" : "connected") + "; RSS " + mib(rss0) +
                    " -> peak " + mib(peakRss) + " -> " + mib(rss1) + "; threads " + threads0 + " -> peak " +
                    peakThreads + " -> " + threads1 + "; fds " + fds0 + " -> " + fds1 + "; a WRITE after: DONE", met));
            }
        }
        return out;
    }

    private static List<SocketChannel> open(final int port, final int n) throws Exception
    {
        final List<SocketChannel> held = new ArrayList<>();
        final InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
        for (int i = 0; i < n; i++)
        {
            final SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.connect(to);
            held.add(ch);
        }
        final long end = System.nanoTime() + 10_000_000_000L;
        final List<SocketChannel> up = new ArrayList<>();
        for (final SocketChannel ch : held)
        {
            try
            {
                while (!ch.finishConnect() && System.nanoTime() < end)
                {
                    Thread.sleep(1);
                }
                if (ch.isConnected())
                {
                    up.add(ch);
                }
                else
                {
                    ch.close();
                }
            }
            catch (final IOException ex)
            {
                ch.close();
            }
        }
        return up;
    }

    /** Handshakes that present a wrong MAC; returns how many the target refused. */
    private static int wrongSecretHandshakes(final int port, final String target, final int n) throws Exception
    {
        int refused = 0;
        final byte[] name = "mallory".getBytes(StandardCharsets.UTF_8);
        final byte[] t = target.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < n; i++)
        {
            try (SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port)))
            {
                final ByteBuffer challenge = ByteBuffer.allocate(64);
                while (challenge.hasRemaining() && ch.read(challenge) >= 0)
                {
                    // the 64-byte challenge
                }
                final int body = (int)(((16 + 2 + name.length + 2 + t.length + 4 + 32 + 63) & -64) - 16);
                final ByteBuffer hello = ByteBuffer.allocate(16 + body);
                hello.putShort((short)0x4659).put((byte)2).put((byte)2).putInt(body).putLong(0)
                    .putShort((short)name.length).put(name).putShort((short)t.length).put(t).putShort((short)0)
                    .putShort((short)0).put(new byte[32]);
                hello.position(hello.capacity()).flip();
                while (hello.hasRemaining())
                {
                    ch.write(hello);
                }
                final ByteBuffer reply = ByteBuffer.allocate(64);
                while (reply.hasRemaining() && ch.read(reply) >= 0)
                {
                    // HELLO_OK or a refusal
                }
                if (3 != reply.get(3))
                {
                    refused++;
                }
            }
            catch (final IOException ex)
            {
                refused++;
            }
        }
        return refused;
    }

    /** A long mixed load from several threads with every byte checked, and no growth in threads, fds or RSS. */
    private List<Row> soak() throws Exception
    {
        final long seconds = full ? 600 : 20;
        final int threads = 4;
        final long slice = 16 * MIB;
        try (ChaosProcess t = ChaosProcess.start(unique("soaked"), 0, 0, threads * slice, null, null);
            Agent a = initiator("crc32c", "true"))
        {
            final MemorySegment local = arena.allocate(threads * slice, 4096);
            final MemorySegment back = arena.allocate(threads * slice, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(local), Region.of(back)));
            final String peer = load(a, t);
            final long base = remoteBase(a, peer);
            final AtomicLong transfers = new AtomicLong();
            final AtomicLong verified = new AtomicLong();
            final AtomicLong errors = new AtomicLong();
            final AtomicLong notifications = new AtomicLong();
            final AtomicReference<String> why = new AtomicReference<>("");
            final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            final List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < threads; w++)
            {
                final int id = w;
                workers.add(Thread.ofPlatform().name("soak-" + w).start(() ->
                {
                    final SplittableRandom rnd = new SplittableRandom(id);
                    final long off = id * slice;
                    while (!stop.get())
                    {
                        try
                        {
                            final int blocks = 1 + rnd.nextInt(64);
                            final int block = 4096 << rnd.nextInt(5);
                            final DescList.Builder l = DescList.builder(MemoryKind.DRAM, blocks);
                            final DescList.Builder bk = DescList.builder(MemoryKind.DRAM, blocks);
                            final DescList.Builder r = DescList.builder(MemoryKind.DRAM, blocks);
                            final int stride = (int)(slice / blocks) & -4096;
                            final long seed = rnd.nextLong();
                            for (int b = 0; b < blocks; b++)
                            {
                                final long at = off + (long)b * stride;
                                fillRandom(local.asSlice(at, block), seed + b);
                                l.add(local.address() + at, block, 0);
                                bk.add(back.address() + at, block, 0);
                                r.add(base + at, block, 0);
                            }
                            final DescList remote = r.build();
                            final boolean notify = rnd.nextInt(4) == 0;
                            final Transfer wr = a.createTransfer(TransferOp.WRITE, l.build(), remote, peer,
                                notify ? TransferOptions.notify(("soak-" + id).getBytes(StandardCharsets.UTF_8)) :
                                null);
                            wr.post();
                            wr.await(Duration.ofSeconds(30));
                            wr.close();
                            notifications.addAndGet(notify ? 1 : 0);
                            final Transfer rd = a.createTransfer(TransferOp.READ, bk.build(), remote, peer, null);
                            rd.post();
                            rd.await(Duration.ofSeconds(30));
                            rd.close();
                            transfers.addAndGet(2);
                            for (int b = 0; b < blocks; b++)
                            {
                                final long at = off + (long)b * stride;
                                if (-1 != local.asSlice(at, block).mismatch(back.asSlice(at, block)))
                                {
                                    errors.incrementAndGet();
                                    why.set("bytes differ");
                                }
                            }
                            verified.addAndGet((long)blocks * block);
                            if (rnd.nextInt(8) == 0)
                            {
                                a.sendNotification(peer, new byte[rnd.nextInt(4096)]);
                                notifications.incrementAndGet();
                            }
                        }
                        catch (final FerryException ex)
                        {
                            errors.incrementAndGet();
                            why.set(ex.code() + ": " + ex.getMessage());
                        }
                    }
                }));
            }
            final long me = ProcessHandle.current().pid();
            final long warmMs = Math.max(5_000, seconds * 250); // JIT, code cache and pools settle first
            Thread.sleep(warmMs);
            final long[] start = sample(t, me);
            Thread.sleep(Math.max(1_000, seconds * 1000 - warmMs));
            stop.set(true);
            for (final Thread w : workers)
            {
                w.join(60_000);
            }
            Thread.sleep(1000);
            final long[] end = sample(t, me);
            final long received = Long.parseLong(t.command("notifications"));
            final boolean met = 0 == errors.get() && received == notifications.get() &&
                end[0] <= start[0] && end[1] <= start[1] && grewLittle(start[2], end[2]) &&
                end[3] - start[3] <= 32 * MIB && end[4] <= start[4] && end[5] <= start[5] &&
                grewLittle(start[6], end[6]) && end[7] - start[7] <= 32 * MIB;
            return List.of(new Row(seconds + " s soak, " + threads + " threads, mixed READ/WRITE/notifications, " +
                "two processes, CRC32C on", "every byte checked, every notification delivered, no growth in " +
                "threads, fds or RSS (after a warm-up of " + warmMs / 1000 + " s)", transfers.get() + " transfers, " +
                String.format("%.1f GiB", verified.get() / (double)(1L << 30)) + " verified, " + errors.get() +
                " errors" + (why.get().isEmpty() ? "" : " (" + why.get() + ")") + ", notifications " + received + "/" +
                notifications.get() + "; target ferry threads " + start[0] + "->" + end[0] + ", fds " + start[1] + "->" +
                end[1] + ", RSS " + mib(start[2]) + "->" + mib(end[2]) + ", heap after GC " + mib(start[3]) + "->" +
                mib(end[3]) + "; initiator ferry threads " + start[4] + "->" + end[4] + ", fds " + start[5] + "->" +
                end[5] + ", RSS " + mib(start[6]) + "->" + mib(end[6]) + ", heap after GC " + mib(start[7]) + "->" +
                mib(end[7]), met));
        }
    }

    /** RSS growth within noise: at most 10% or 32 MiB, whichever is more. */
    private static boolean grewLittle(final long before, final long after)
    {
        return after - before <= Math.max(32 * MIB, before / 10);
    }

    /** Threads, fds, RSS and heap after GC of the target, then of this process. */
    private static long[] sample(final ChaosProcess t, final long me) throws Exception
    {
        System.gc();
        final Runtime rt = Runtime.getRuntime();
        final long heap = rt.totalMemory() - rt.freeMemory();
        // threads: those ferry started (the JVM starts and stops compiler and GC threads by itself)
        return new long[] {t.ferryThreads(), t.fds(), t.rss(), t.heapAfterGc(), ChaosTarget.ferryThreads(),
            ChaosProcess.openFiles(me), ChaosProcess.status(me, "VmRSS:") * 1024, heap};
    }
}
