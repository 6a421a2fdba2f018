package io.ferry.tcp;


import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.TransferStatus;
import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.testing.TestData.fill;
import static io.ferry.tcp.TcpFixtures.tcpAgent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What broke when ferry was attacked from outside, each case as it was reported: one bad request costs only that
 * request, nothing a peer declares is allocated before it arrives, limits hold on both sides, a fake target is
 * refused before it gets a byte, and a frozen one is given up at the data's deadline.
 */
@Timeout(60)
class TcpHardeningTest
{
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void tearDown() throws Exception
    {
        for (int i = closing.size() - 1; i >= 0; i--)
        {
            closing.get(i).close();
        }
        arena.close();
    }

    private Agent agent(final String prefix, final String... params)
    {
        final Agent a = tcpAgent(prefix, params);
        closing.add(a);
        return a;
    }

    private static InetSocketAddress dataAddress(final Agent target)
    {
        final AgentMetadata md = MetadataCodec.decode(target.localMetadata());
        return Endpoints.decode(target.name(), md.connectionInfo().get("TCP")).addresses().getFirst();
    }

    private static long keyOf(final Agent target)
    {
        return MetadataCodec.decode(target.localMetadata()).regions().getFirst().accessKey();
    }

    /** A raw connection that passed the handshake (no secret) as {@code who}. */
    private static SocketChannel rawPeer(final Agent target, final String who) throws IOException
    {
        final SocketChannel ch = TcpFixtures.sayHello(dataAddress(target), who, target.name());
        final ByteBuffer ok = ByteBuffer.allocate(Frames.ALIGN);
        BlockingSocketIo.readFully(ch, ok);
        assertThat(ok.get(3)).as("HELLO_OK").isEqualTo(Frames.HELLO_OK);
        return ch;
    }

    private static ByteBuffer readReply(final SocketChannel ch) throws IOException
    {
        return TcpFixtures.readFrame(ch);
    }

    private static String reason(final ByteBuffer reply)
    {
        return new String(reply.array(), Frames.ALIGN, reply.getInt(Frames.HEADER_LENGTH + 8),
            java.nio.charset.StandardCharsets.UTF_8);
    }

    private static ByteBuffer readRequest(final long id, final long key, final int spans, final long offsetStep,
        final int length)
    {
        final ByteBuffer b = ByteBuffer.allocate(Frames.chunkPrefix(spans));
        Frames.putHeader(b, Frames.READ_REQ, (int)Frames.chunkBody(spans, 0), id);
        b.putShort((short)spans).putShort((short)0).putInt(0);
        for (int i = 0; i < spans; i++)
        {
            b.putLong(key).putLong(i * offsetStep).putInt(length);
        }
        return Frames.putPadding(b).flip();
    }

    /** An initiator with these TCP parameters and a WRITE of {@code bytes} to the fake target's region. */
    private Transfer writeToFake(final FakeTarget fake, final int bytes, final String... params)
    {
        final Agent initiator = agent("init", params);
        final MemorySegment local = arena.allocate(bytes, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = initiator.loadRemoteMetadata(fake.metadata());
        return initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.builder(MemoryKind.DRAM).add(0x7000_0000L, bytes).build(), peer, null);
    }

    private String pair(final Agent initiator, final Agent target)
    {
        return initiator.loadRemoteMetadata(target.localMetadata());
    }

    // ---- issue 24, item 1: one bad request never costs the peer ----

    @Test
    void aNotificationOverThePeersLimitIsRefusedAtTheCallAndThePeerSurvives()
    {
        final Agent target = agent("target", "max_notification_bytes", "65536");
        final Agent initiator = agent("init");
        final MemorySegment remote = arena.allocate(1 << 20, 4096);
        final MemorySegment local = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = pair(initiator, target);

        final FerryException ex = catchThrowableOfType(FerryException.class,
            () -> initiator.sendNotification(peer, new byte[100_000]));
        assertThat(ex.code()).isEqualTo(ErrorCode.INVALID_PARAM);
        assertThat(ex.getMessage()).contains("max_notification_bytes 65536");

        final Transfer big = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 4096)),
            DescList.dram(remote.asSlice(0, 4096)), peer, TransferOptions.notify(new byte[70_000]));
        assertThat(catchThrowableOfType(FerryException.class, big::post).code()).isEqualTo(ErrorCode.INVALID_PARAM);

        fill(local, 7);
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 4096)),
            DescList.dram(remote.asSlice(0, 4096)), peer, null);
        t.post();
        t.await(Duration.ofSeconds(10));
        assertSameBytes(local.asSlice(0, 4096), remote.asSlice(0, 4096));
        initiator.sendNotification(peer, new byte[65536]);
        assertThat(target.awaitNotification(Duration.ofSeconds(10)).payload()).hasSize(65536);
        assertThat(initiator.peers()).contains(peer);
    }

    @Test
    void readingTargetMemoryFreedBehindFerrysBackIsRefusedAndThePeerSurvives()
    {
        final Agent target = agent("target");
        final Agent initiator = agent("init");
        final Arena doomed = Arena.ofShared();
        final MemorySegment freed = doomed.allocate(1 << 20, 4096);
        final MemorySegment live = arena.allocate(1 << 20, 4096);
        final MemorySegment local = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(freed)));
        target.register(MemoryKind.DRAM, List.of(Region.of(live)));
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = pair(initiator, target);
        doomed.close(); // still registered: the caller broke its promise

        final Transfer bad = initiator.createTransfer(TransferOp.READ, DescList.dram(local.asSlice(0, 65536)),
            DescList.dram(freed.asSlice(0, 65536)), peer, null);
        bad.post();
        final FerryException ex = catchThrowableOfType(FerryException.class, () -> bad.await(Duration.ofSeconds(10)));
        assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
        assertThat(ex.getMessage()).contains("MEMORY_FREED").contains("was freed");
        assertThat(initiator.peers()).contains(peer);

        fill(live, 3);
        final Transfer good = initiator.createTransfer(TransferOp.READ, DescList.dram(local.asSlice(0, 65536)),
            DescList.dram(live.asSlice(0, 65536)), peer, null);
        good.post();
        good.await(Duration.ofSeconds(10));
        assertSameBytes(live.asSlice(0, 65536), local.asSlice(0, 65536));
    }

    @Test
    void theInitiatorsOwnFreedMemoryIsRefusedAtPost()
    {
        final Agent target = agent("target");
        final Agent initiator = agent("init");
        final MemorySegment remote = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        final Arena doomed = Arena.ofShared();
        final MemorySegment local = doomed.allocate(1 << 20, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = pair(initiator, target);
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.dram(remote), peer, null);
        doomed.close();
        final FerryException ex = catchThrowableOfType(FerryException.class, () ->
        {
            t.post();
            t.await(Duration.ofSeconds(10));
        });
        assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
        assertThat(ex.getMessage()).contains("was freed");
        assertThat(initiator.peers()).contains(peer);
    }

    @Test
    void aFrameTheTargetCannotParseFailsItsRequestOnceAndIsNotReplayedOnTheOtherPaths() throws Exception
    {
        try (FakeTarget fake = new FakeTarget(io.ferry.Fixtures.unique("fake"),
            p -> FakeTarget.Behaviour.REFUSE_AND_CLOSE))
        {
            final Agent initiator = agent("init", "reconnect_interval_ms", "0");
            final MemorySegment local = arena.allocate(1 << 20, 4096);
            initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String peer = initiator.loadRemoteMetadata(fake.metadata());
            final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 4096)),
                DescList.builder(MemoryKind.DRAM).add(0x7000_0000L, 4096).build(), peer, null);
            t.post();
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(10)));
            assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
            assertThat(ex.getMessage()).contains("as malformed").contains("this fake cannot parse anything");
            Thread.sleep(300);
            assertThat(fake.dataFrames.get()).as("frames the fake got: the refused one only").isEqualTo(1);
            assertThat(initiator.peers()).as("three paths are left").contains(peer);
        }
    }

    // ---- issue 24, items 2 and 3: impossible memory, one code per fault ----

    @Test
    void impossibleHostSpansAreRefusedAtRegistration()
    {
        final Agent a = agent("a");
        for (final Region bad : List.of(Region.ofAddress(0, 4096, 0), Region.ofAddress(Long.MAX_VALUE - 10, 4096, 0),
            Region.ofAddress(1L << 58, 4096, 0)))
        {
            final FerryException ex = catchThrowableOfType(FerryException.class,
                () -> a.register(MemoryKind.DRAM, List.of(bad)));
            assertThat(ex).as(bad.toString()).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.INVALID_PARAM);
            assertThat(ex.getMessage()).contains("region 0").contains(Long.toHexString(bad.address()));
        }
    }

    @Test
    void aSpanRegisteredAgainIsNotFoundForRequestsMadeAgainstTheOldRecord()
    {
        final Agent target = agent("target");
        final Agent initiator = agent("init");
        final MemorySegment remote = arena.allocate(1 << 20, 4096);
        final MemorySegment local = arena.allocate(1 << 20, 4096);
        final Registration reg = target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = pair(initiator, target);
        reg.close();
        target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local.asSlice(0, 4096)),
            DescList.dram(remote.asSlice(0, 4096)), peer, null);
        t.post();
        final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(10)));
        assertThat(ex.code()).isEqualTo(ErrorCode.NOT_FOUND);
    }

    // ---- issue 25: limits on the wire ----

    @Test
    void readsOverTheTargetsLimitsAreRefusedWithAStatusAndTheConnectionStaysUsable() throws Exception
    {
        final Agent target = agent("target", "max_spans_per_chunk", "4096");
        final MemorySegment region = arena.allocate(64L << 20, 4096);
        fill(region, 5);
        target.register(MemoryKind.DRAM, List.of(Region.of(region)));
        final long key = keyOf(target);
        try (SocketChannel ch = rawPeer(target, "mallory"))
        {
            // 4,096 spans of 1 MiB: a 4 GiB reply, whose length would wrap in 32 bits
            BlockingSocketIo.writeFully(ch, readRequest(1, key, 4096, 0, 1 << 20));
            ByteBuffer r = readReply(ch);
            assertThat(r.get(3)).isEqualTo(Frames.READ_DATA);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OVER_LIMIT);
            assertThat(reason(r)).contains("max_frame_bytes");
            // 65 spans of 1 MiB: 65 MiB, over the 64 MiB frame limit
            BlockingSocketIo.writeFully(ch, readRequest(2, key, 65, 0, 1 << 20));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OVER_LIMIT);
            // a span of 4 GiB - 1 (negative as an int)
            BlockingSocketIo.writeFully(ch, readRequest(3, key, 1, 0, -1));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OUT_OF_BOUNDS);
            // and a good READ still comes back whole
            BlockingSocketIo.writeFully(ch, readRequest(4, key, 2, 4096, 4096));
            r = readReply(ch);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
            assertThat(r.getInt(Frames.HEADER_LENGTH + 8)).isEqualTo(8192);
            final byte[] got = new byte[8192];
            r.get(Frames.ALIGN, got);
            assertThat(got).isEqualTo(region.asSlice(0, 8192).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void moreSpansThanTheTargetsLimitAreRefused() throws Exception
    {
        final Agent target = agent("target"); // max_spans_per_chunk 256
        final MemorySegment region = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(region)));
        try (SocketChannel ch = rawPeer(target, "mallory"))
        {
            BlockingSocketIo.writeFully(ch, readRequest(1, keyOf(target), 300, 64, 64));
            final ByteBuffer r = readReply(ch);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OVER_LIMIT);
            assertThat(reason(r)).contains("300 spans").contains("max_spans_per_chunk 256");
            BlockingSocketIo.writeFully(ch, readRequest(2, keyOf(target), 256, 64, 64));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
        }
    }

    @Test
    void anInitiatorWithMoreSpansOrLargerChunksThanThePeerTakesIsCutToItsLimits()
    {
        final Agent target = agent("target", "max_spans_per_chunk", "16", "max_frame_bytes", "262144",
            "chunk_size", "131072");
        final Agent wide = agent("wide", "max_spans_per_chunk", "1024", "chunk_size", "4194304",
            "max_frame_bytes", "67108864");
        final MemorySegment remote = arena.allocate(8 << 20, 4096);
        final MemorySegment local = arena.allocate(8 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        wide.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = pair(wide, target);
        for (final TransferOp op : TransferOp.values())
        {
            fill(TransferOp.WRITE == op ? local : remote, 11 + op.ordinal());
            final DescList.Builder l = DescList.builder(MemoryKind.DRAM, 1024);
            final DescList.Builder r = DescList.builder(MemoryKind.DRAM, 1024);
            for (int i = 0; i < 1024; i++)
            {
                l.add(local.address() + i * 8192L, 4096, 0);
                r.add(remote.address() + i * 8192L, 4096, 0);
            }
            final Transfer t = wide.createTransfer(op, l.build(), r.build(), peer, null);
            t.post();
            t.await(Duration.ofSeconds(20));
            for (int i = 0; i < 1024; i++)
            {
                assertSameBytes(local.asSlice(i * 8192L, 4096), remote.asSlice(i * 8192L, 4096));
            }
        }
    }

    @Test
    void aDeclaredNotificationIsNotAllocatedBeforeItsBytesArrive() throws Exception
    {
        final Agent target = agent("target");
        final com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final List<SocketChannel> strangers = new ArrayList<>();
        try
        {
            for (int i = 0; i < 10; i++)
            {
                final SocketChannel ch = rawPeer(target, "mallory" + i);
                strangers.add(ch);
                final int body = Frames.notifyBody(0, 16 << 20) - 64; // 16 MiB declared, a whole number of units
                final ByteBuffer h = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.NOTIFY_FIXED);
                Frames.putHeader(h, Frames.NOTIFY, body, 1);
                h.putShort(Frames.NOTIFY_STANDALONE).putShort((short)0).putInt(0).putInt(body - 16).putInt(0);
                BlockingSocketIo.writeFully(ch, h.flip());
            }
            Thread.sleep(500);
            long allocated = 0;
            for (final Thread t : Thread.getAllStackTraces().keySet())
            {
                if (t.getName().startsWith("ferry-tcp-" + target.name() + "-in-"))
                {
                    allocated += mx.getThreadAllocatedBytes(t.threadId());
                }
            }
            // ten 16 MiB buffers would be 160 MiB; each connection holds at most a 64 KiB start
            assertThat(allocated).as("bytes the target's connection threads allocated").isLessThan(16L << 20);
        }
        finally
        {
            for (final SocketChannel ch : strangers)
            {
                ch.close();
            }
        }
    }

    @Test
    void aTricklingSenderIsCutAtTheFrameDeadline() throws Exception
    {
        final Agent target = agent("target", "frame_timeout_ms", "500");
        final MemorySegment region = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(region)));
        try (SocketChannel ch = rawPeer(target, "slowpoke"))
        {
            Thread.sleep(700); // idle between frames is fine
            final ByteBuffer frame = readRequest(1, keyOf(target), 1, 0, 64);
            final long start = System.nanoTime();
            boolean closed = false;
            final ByteBuffer one = ByteBuffer.allocate(1);
            while (frame.hasRemaining() && !closed)
            {
                one.clear().put(frame.get()).flip();
                try
                {
                    ch.write(one);
                    Thread.sleep(100);
                }
                catch (final IOException ex)
                {
                    closed = true;
                }
            }
            if (!closed)
            {
                // the whole frame went out, one byte per 100 ms: the connection must be gone, not answered
                ch.configureBlocking(true);
                ch.socket().setSoTimeout(5000);
                closed = ch.socket().getInputStream().read() < 0;
            }
            assertThat(closed).as("connection closed").isTrue();
            assertThat((System.nanoTime() - start) / 1_000_000).as("ms until the cut").isLessThan(5_000);
        }
    }

    @Test
    void connectionsThatDoNotFinishTheirHandshakeAreCapped() throws Exception
    {
        final Agent target = agent("target", "max_unauthenticated_connections", "4", "connect_timeout_ms", "30000");
        final List<SocketChannel> silent = new ArrayList<>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                silent.add(SocketChannel.open(dataAddress(target)));
            }
            Thread.sleep(200);
            try (SocketChannel extra = SocketChannel.open(dataAddress(target)))
            {
                extra.socket().setSoTimeout(5000);
                assertThat(extra.socket().getInputStream().read()).as("the fifth is closed, no challenge").isEqualTo(-1);
            }
        }
        finally
        {
            for (final SocketChannel ch : silent)
            {
                ch.close();
            }
        }
        Thread.sleep(200);
        final Agent initiator = agent("init");
        final MemorySegment remote = arena.allocate(1 << 20, 4096);
        final MemorySegment local = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.dram(remote),
            pair(initiator, target), null);
        t.post();
        t.await(Duration.ofSeconds(10));
    }

    @Test
    void onePeerMayHoldOnlySoManyConnections() throws Exception
    {
        final Agent target = agent("target", "max_connections_per_peer", "2");
        final SocketChannel a = rawPeer(target, "greedy");
        final SocketChannel b = rawPeer(target, "greedy");
        try (a; b; SocketChannel c = SocketChannel.open(dataAddress(target)))
        {
            BlockingSocketIo.readFully(c, ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY));
            BlockingSocketIo.writeFully(c, Handshake.hello("greedy", target.name(), 2, new byte[Frames.MAC_LENGTH]));
            final ByteBuffer r = readReply(c);
            assertThat(r.get(3)).isEqualTo(Frames.ACK);
            assertThat(reason(r)).contains("max_connections_per_peer");
        }
    }

    // ---- a WRITE resent elsewhere never lands late: FENCE ----

    /** A raw connection that passed the handshake as {@code who}'s path {@code path} of generation {@code gen}. */
    private static SocketChannel rawPath(final Agent target, final String who, final int path, final int gen)
        throws IOException
    {
        final SocketChannel ch = SocketChannel.open(dataAddress(target));
        BlockingSocketIo.readFully(ch, ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY));
        BlockingSocketIo.writeFully(ch, Handshake.hello(who, target.name(), path, new byte[Frames.MAC_LENGTH], null, gen));
        assertThat(readReply(ch).get(3)).isEqualTo(Frames.HELLO_OK);
        return ch;
    }

    private static ByteBuffer write(final long id, final long key, final byte[] data)
    {
        final long body = Frames.chunkBody(1, data.length);
        final ByteBuffer b = ByteBuffer.allocate((int)(Frames.HEADER_LENGTH + body));
        Frames.putHeader(b, Frames.WRITE, (int)body, id);
        b.putShort((short)1).putShort((short)0).putInt(0).putLong(key).putLong(0).putInt(data.length);
        return Frames.putPadding(Frames.putPadding(b).put(data)).flip();
    }

    /** @return true when the connection was closed (after its FENCE's ACK, if that came), false if it stays open. */
    private static boolean answeredThenClosed(final SocketChannel ch) throws IOException
    {
        ch.socket().setSoTimeout(5000);
        try
        {
            final java.io.InputStream in = ch.socket().getInputStream();
            final byte[] ack = new byte[Frames.ALIGN];
            int n = 0;
            while (n < ack.length)
            {
                final int r = in.read(ack, n, ack.length - n);
                if (r < 0)
                {
                    return true;
                }
                n += r;
            }
            ch.socket().setSoTimeout(300);
            return in.read() < 0;
        }
        catch (final java.net.SocketTimeoutException ex)
        {
            return false;
        }
        catch (final IOException ex)
        {
            return true; // reset
        }
    }

    private static boolean closedByPeer(final SocketChannel ch) throws IOException
    {
        ch.socket().setSoTimeout(5000);
        try
        {
            return ch.socket().getInputStream().read() < 0;
        }
        catch (final IOException ex)
        {
            return true; // reset
        }
    }

    @Test
    void aFencedConnectionAppliesNothingMoreAndANewerGenerationSupersedesAnOlderOne() throws Exception
    {
        final Agent target = agent("target");
        final MemorySegment region = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(region)));
        final long key = keyOf(target);
        final byte[] stale = new byte[4096];
        java.util.Arrays.fill(stale, (byte)0x33);
        try (SocketChannel old = rawPath(target, "x", 0, 1); SocketChannel live = rawPath(target, "x", 1, 1))
        {
            // the initiator abandoned path 0 (generation 1) and says so on path 1
            final ByteBuffer fence = ByteBuffer.allocate(Frames.ALIGN);
            Frames.putHeader(fence, Frames.FENCE, Frames.EMPTY_BODY, 77);
            fence.putShort((short)0).putShort((short)0).putInt(1);
            BlockingSocketIo.writeFully(live, Frames.putPadding(fence).flip());
            final ByteBuffer ack = readReply(live);
            assertThat(ack.getLong(8)).isEqualTo(77);
            assertThat(ack.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
            // a frame the old path delivers late is never applied
            try
            {
                BlockingSocketIo.writeFully(old, write(1, key, stale));
            }
            catch (final IOException closed)
            {
                // closed already
            }
            assertThat(closedByPeer(old)).as("the fenced connection is closed").isTrue();
            assertThat(region.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).as("stale bytes applied")
                .isZero();
        }
        try (SocketChannel first = rawPath(target, "y", 0, 1); SocketChannel again = rawPath(target, "y", 0, 2))
        {
            assertThat(closedByPeer(first)).as("generation 2 of path 0 supersedes generation 1").isTrue();
            BlockingSocketIo.writeFully(again, write(2, key, stale));
            assertThat(readReply(again).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
        }
        // clients that send no generation never supersede one another
        try (SocketChannel a = rawPeer(target, "z"); SocketChannel b = rawPeer(target, "z"))
        {
            BlockingSocketIo.writeFully(a, write(3, key, stale));
            assertThat(readReply(a).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
            BlockingSocketIo.writeFully(b, write(4, key, stale));
            assertThat(readReply(b).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
        }
    }

    @Test
    void twoConnectionsFencingEachOtherWedgeNothing() throws Exception
    {
        final Agent target = agent("target", "frame_timeout_ms", "1000");
        final MemorySegment region = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(region)));
        try (SocketChannel a = rawPath(target, "h", 0, 1); SocketChannel b = rawPath(target, "h", 1, 1))
        {
            final ByteBuffer fenceB = ByteBuffer.allocate(Frames.ALIGN);
            Frames.putHeader(fenceB, Frames.FENCE, Frames.EMPTY_BODY, 1);
            fenceB.putShort((short)1).putShort((short)0).putInt(1);
            final ByteBuffer fenceA = ByteBuffer.allocate(Frames.ALIGN);
            Frames.putHeader(fenceA, Frames.FENCE, Frames.EMPTY_BODY, 2);
            fenceA.putShort((short)0).putShort((short)0).putInt(1);
            BlockingSocketIo.writeFully(a, Frames.putPadding(fenceB).flip());
            BlockingSocketIo.writeFully(b, Frames.putPadding(fenceA).flip());
            final long start = System.nanoTime();
            final boolean aClosed = answeredThenClosed(a);
            final boolean bClosed = answeredThenClosed(b);
            assertThat(aClosed || bClosed).as("one of them, at least, was fenced").isTrue();
            assertThat((System.nanoTime() - start) / 1_000_000).as("ms: bounded by frame_timeout_ms")
                .isLessThan(5_000);
        }
        // both threads came back: the target serves a new peer
        final Agent initiator = agent("init");
        final MemorySegment local = arena.allocate(1 << 20, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.dram(region),
            pair(initiator, target), null);
        t.post();
        t.await(Duration.ofSeconds(10));
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (TcpFixtures.liveThreads(target.name()) > 2 + 4 && System.nanoTime() < deadline)
        {
            Thread.sleep(50);
        }
        assertThat(TcpFixtures.liveThreads(target.name())).as("accept, watchdog and the initiator's 4 paths")
            .isLessThanOrEqualTo(2 + 4);
    }

    // ---- issue 25, item 2: mutual authentication ----

    @Test
    void anInitiatorWithASecretSendsNothingToATargetThatDoesNotProveIt() throws Exception
    {
        try (FakeTarget fake = new FakeTarget(io.ferry.Fixtures.unique("fake"), p -> FakeTarget.Behaviour.ACK))
        {
            final Agent initiator = agent("init", "auth_secret", "s3cret", "reconnect_interval_ms", "0");
            final MemorySegment local = arena.allocate(1 << 20, 4096);
            initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
            final String peer = initiator.loadRemoteMetadata(fake.metadata());
            final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
                DescList.builder(MemoryKind.DRAM).add(0x7000_0000L, 1 << 20).build(), peer, null);
            final FerryException ex = catchThrowableOfType(FerryException.class, () ->
            {
                t.post();
                t.await(Duration.ofSeconds(10));
            });
            assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
            assertThat(ex.getMessage()).contains("did not prove auth_secret");
            assertThat(fake.bytesAfterHello.get()).as("bytes the fake target got after the HELLO").isZero();
        }
    }

    @Test
    void bothSidesProveTheSecretAndTheSecretIsNeverShown()
    {
        final Agent target = agent("target", "auth_secret", "s3cret");
        final Agent initiator = agent("init", "auth_secret", "s3cret");
        assertThat(target.backendParams("TCP").params().get("auth_secret")).isEqualTo("(set)");
        final MemorySegment remote = arena.allocate(1 << 20, 4096);
        final MemorySegment local = arena.allocate(1 << 20, 4096);
        target.register(MemoryKind.DRAM, List.of(Region.of(remote)));
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        fill(local, 9);
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local), DescList.dram(remote),
            pair(initiator, target), null);
        t.post();
        t.await(Duration.ofSeconds(10));
        assertSameBytes(local, remote);
    }

    // ---- issue 24, item 5: the deadline belongs to the data ----

    @Test
    void aFrozenTargetFailsTheRequestAtTheAckDeadlineNotPathsTimesIt() throws Exception
    {
        try (FakeTarget frozen = new FakeTarget(io.ferry.Fixtures.unique("frozen"), p -> FakeTarget.Behaviour.SWALLOW))
        {
            final Transfer t = writeToFake(frozen, 4 << 20, "ack_timeout_ms", "1000", "paths", "4", "chunk_size",
                "262144", "reconnect_interval_ms", "0");
            final long start = System.nanoTime();
            t.post();
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> t.await(Duration.ofSeconds(20)));
            final long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
            assertThat(ex.getMessage()).contains("within ack_timeout_ms 1000");
            // four paths used to stretch this to 4 s, each path's attempt restarting the clock
            assertThat(ms).as("ms until REMOTE_DISCONNECT").isBetween(900L, 2_500L);
        }
    }

    @Test
    void aStalledPathIsLeftWhileTheOthersAreAnsweredAndTheRequestCompletes() throws Exception
    {
        try (FakeTarget oneDead = new FakeTarget(io.ferry.Fixtures.unique("onedead"),
            p -> 0 == p ? FakeTarget.Behaviour.SWALLOW : FakeTarget.Behaviour.ACK))
        {
            final Transfer t = writeToFake(oneDead, 8 << 20, "ack_timeout_ms", "4000", "paths", "4", "chunk_size",
                "262144", "reconnect_interval_ms", "0", "path_selection", "round_robin");
            final long start = System.nanoTime();
            t.post();
            t.await(Duration.ofSeconds(20));
            assertThat(t.status()).isEqualTo(TransferStatus.DONE);
            // path 0's chunks moved after a quarter of the deadline, not after all of it
            assertThat((System.nanoTime() - start) / 1_000_000).as("ms to DONE").isLessThan(4_000);
        }
    }
}
