package io.ferry.tcp;


import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.testing.TestData.fill;
import static io.ferry.tcp.TcpFixtures.tcpAgent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A hostile or broken peer speaking raw bytes to a target agent: every bad request is refused, nothing outside the
 * registered region changes, and the target keeps serving good peers.
 */
@Timeout(60)
class HostilePeerTest
{
    private static final int GUARD = 4096;
    private static final int REGION = 1 << 16;

    private Arena arena;
    private Agent target;
    private MemorySegment whole;
    private MemorySegment region;
    private long key;
    private InetSocketAddress address;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        target = tcpAgent("target", "max_frame_bytes", "1048576", "chunk_size", "262144");
        whole = arena.allocate(GUARD + REGION + GUARD, 4096);
        whole.fill((byte)0x5A);
        region = whole.asSlice(GUARD, REGION);
        target.register(MemoryKind.DRAM, List.of(Region.of(region)));
        final AgentMetadata md = MetadataCodec.decode(target.localMetadata());
        key = md.regions().getFirst().accessKey();
        address = Endpoints.decode(target.name(), md.connectionInfo().get("TCP")).addresses().stream()
            .filter(a -> a.getAddress().isLoopbackAddress()).findFirst().orElseThrow();
    }

    @AfterEach
    void tearDown()
    {
        target.close();
        arena.close();
    }

    private SocketChannel handshake(final String targetName) throws IOException
    {
        return TcpFixtures.sayHello(address, "mallory", targetName);
    }

    private static ByteBuffer readReply(final SocketChannel ch) throws IOException
    {
        return TcpFixtures.readFrame(ch);
    }

    private static ByteBuffer write(final long chunkId, final long regionKey, final long offset, final byte[] data,
        final int claimedLength)
    {
        final long body = Frames.chunkBody(1, data.length);
        final ByteBuffer b = ByteBuffer.allocate((int)(Frames.HEADER_LENGTH + body));
        Frames.putHeader(b, Frames.WRITE, (int)body, chunkId);
        b.putShort((short)1).putShort((short)0).putInt(0).putLong(regionKey).putLong(offset).putInt(claimedLength);
        return Frames.putPadding(Frames.putPadding(b).put(data)).flip();
    }

    private static ByteBuffer readRequest(final long chunkId, final long regionKey, final long offset, final int length)
    {
        final ByteBuffer b = ByteBuffer.allocate(Frames.chunkPrefix(1));
        Frames.putHeader(b, Frames.READ_REQ, (int)Frames.chunkBody(1, 0), chunkId);
        b.putShort((short)1).putShort((short)0).putInt(0).putLong(regionKey).putLong(offset).putInt(length);
        return Frames.putPadding(b).flip();
    }

    /** The reason a refusing reply gives. */
    private static String reason(final ByteBuffer reply)
    {
        return new String(reply.array(), Frames.HEADER_LENGTH + Frames.REPLY_FIXED,
            reply.getInt(Frames.HEADER_LENGTH + 8), java.nio.charset.StandardCharsets.UTF_8);
    }

    private void assertGuardsUntouched()
    {
        for (final long at : new long[] {0, GUARD - 1, GUARD + REGION, GUARD + REGION + GUARD - 1})
        {
            assertThat(whole.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at)).as("guard byte " + at)
                .isEqualTo((byte)0x5A);
        }
        final MemorySegment before = whole.asSlice(0, GUARD);
        final MemorySegment after = whole.asSlice(GUARD + REGION, GUARD);
        final MemorySegment expected = arena.allocate(GUARD);
        expected.fill((byte)0x5A);
        assertSameBytes(expected, before);
        assertSameBytes(expected, after);
    }

    @Test
    void badKeysAndOutOfBoundsSpansAreRefusedOnAConnectionThatStaysUsable() throws Exception
    {
        try (SocketChannel ch = handshake(target.name()))
        {
            assertThat(readReply(ch).get(3)).isEqualTo(Frames.HELLO_OK);
            final byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte)0x77);

            BlockingSocketIo.writeFully(ch, write(1, key ^ 1, 0, data, data.length));
            ByteBuffer r = readReply(ch);
            assertThat(r.get(3)).isEqualTo(Frames.ACK);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.BAD_REGION);

            BlockingSocketIo.writeFully(ch, write(2, key, REGION - 100, data, data.length));
            r = readReply(ch);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OUT_OF_BOUNDS);

            BlockingSocketIo.writeFully(ch, write(3, key, Long.MAX_VALUE - 10, data, data.length));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OUT_OF_BOUNDS);

            BlockingSocketIo.writeFully(ch, write(4, key, -4096, data, data.length));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OUT_OF_BOUNDS);

            // a READ of out-of-bounds memory is refused too, without data
            BlockingSocketIo.writeFully(ch, readRequest(5, key, REGION - 8, 64));
            r = readReply(ch);
            assertThat(r.get(3)).isEqualTo(Frames.READ_DATA);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OUT_OF_BOUNDS);

            // and a good write on the same connection lands
            BlockingSocketIo.writeFully(ch, write(6, key, 0, data, data.length));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
            assertThat(region.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4095)).isEqualTo((byte)0x77);
        }
        assertGuardsUntouched();
    }

    @Test
    void framesArePaddedSoThatPayloadsStartOn64ByteBoundaries() throws Exception
    {
        final byte[] data = new byte[100]; // not a multiple of 64: both frames below end in padding
        for (int i = 0; i < data.length; i++)
        {
            data[i] = (byte)(i + 1);
        }
        try (SocketChannel ch = handshake(target.name()))
        {
            final ByteBuffer ok = readReply(ch);
            assertThat(ok.get(3)).isEqualTo(Frames.HELLO_OK);
            assertThat(ok.limit()).isEqualTo(Frames.ALIGN);
            BlockingSocketIo.writeFully(ch, write(1, key, 64, data, data.length));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);

            BlockingSocketIo.writeFully(ch, readRequest(2, key, 64, data.length));
            final ByteBuffer r = readReply(ch);
            assertThat(r.get(3)).isEqualTo(Frames.READ_DATA);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
            assertThat(r.getInt(Frames.HEADER_LENGTH + 8)).as("data length").isEqualTo(data.length);
            assertThat(r.limit()).as("frame length").isEqualTo(Frames.ALIGN + 128);
            final byte[] got = new byte[data.length];
            r.get(Frames.ALIGN, got); // the data start at frame offset 64
            assertThat(got).isEqualTo(data);
            for (int i = Frames.ALIGN + data.length; i < r.limit(); i++)
            {
                assertThat(r.get(i)).as("padding byte " + i).isZero();
            }

            // the target consumed the WRITE's padding: the next frame on the connection is read as a frame
            BlockingSocketIo.writeFully(ch, write(3, key, 4096, data, data.length));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.OK);
        }
        assertThat(region.asSlice(64, data.length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(data);
        assertThat(region.asSlice(4096, data.length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
            .isEqualTo(data);
        assertGuardsUntouched();
    }

    @Test
    void aListenerOfAnotherProtocolVersionIsNamedNotWaitedFor() throws Exception
    {
        try (java.nio.channels.ServerSocketChannel old = java.nio.channels.ServerSocketChannel.open()
            .bind(new InetSocketAddress("127.0.0.1", 0));
            Agent initiator = tcpAgent("initiator", "paths", "1", "connect_timeout_ms", "20000"))
        {
            final Thread listener = Thread.ofPlatform().daemon().start(() ->
            {
                try (SocketChannel ch = old.accept())
                {
                    // a version 1 challenge: a 16-byte header and 32 random bytes, 48 in all
                    final ByteBuffer challenge = ByteBuffer.allocate(48).putShort(Frames.MAGIC).put((byte)1)
                        .put(Frames.CHALLENGE).putInt(32).putLong(0);
                    BlockingSocketIo.writeFully(ch, challenge.position(48).flip());
                    ch.read(ByteBuffer.allocate(1)); // then waits, as that listener would, for a HELLO
                }
                catch (final IOException ignore)
                {
                    // the initiator hung up
                }
            });
            final byte[] md = MetadataCodec.encode(new AgentMetadata("old-peer",
                java.util.Map.of("TCP", Endpoints.encode(List.of((InetSocketAddress)old.getLocalAddress()))),
                List.of()));
            final String peer = initiator.loadRemoteMetadata(md);
            final long start = System.nanoTime();
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> initiator.connect(peer));
            assertThat(ex).isNotNull();
            assertThat(ex.getMessage()).contains("unsupported protocol version 1");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            listener.join(5000);
        }
    }

    @Test
    void malformedFramesCloseTheConnection() throws Exception
    {
        final byte[] data = new byte[64];
        // span lengths that do not add up to the payload
        try (SocketChannel ch = handshake(target.name()))
        {
            readReply(ch);
            BlockingSocketIo.writeFully(ch, write(1, key, 0, data, 1_000_000));
            final ByteBuffer r = readReply(ch);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.MALFORMED);
            assertClosed(ch);
        }
        // oversized frame
        try (SocketChannel ch = handshake(target.name()))
        {
            readReply(ch);
            final ByteBuffer huge = ByteBuffer.allocate(Frames.HEADER_LENGTH);
            Frames.putHeader(huge, Frames.WRITE, 512 << 20, 1);
            BlockingSocketIo.writeFully(ch, huge.flip());
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.MALFORMED);
            assertClosed(ch);
        }
        // a frame that is not a whole number of 64-byte units
        try (SocketChannel ch = handshake(target.name()))
        {
            readReply(ch);
            final ByteBuffer odd = ByteBuffer.allocate(Frames.HEADER_LENGTH + 100);
            Frames.putHeader(odd, Frames.WRITE, 100, 1);
            BlockingSocketIo.writeFully(ch, odd.position(odd.capacity()).flip());
            final ByteBuffer r = readReply(ch);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.MALFORMED);
            assertThat(reason(r)).contains("WRITE frame of 116 bytes is not a whole number of 64-byte units");
            assertClosed(ch);
        }
        // wrong version, unknown type
        for (final byte[] header : new byte[][] {{0x46, 0x59, 9, 4, 0, 0, 0, 48}, {0x46, 0x59, 2, 42, 0, 0, 0, 48},
            {0x46, 0x59, 1, 4, 0, 0, 0, 48}})
        {
            try (SocketChannel ch = handshake(target.name()))
            {
                readReply(ch);
                BlockingSocketIo.writeFully(ch, ByteBuffer.wrap(java.util.Arrays.copyOf(header, Frames.HEADER_LENGTH)));
                assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.MALFORMED);
                assertClosed(ch);
            }
        }
        // truncated frame, then the peer disappears
        try (SocketChannel ch = handshake(target.name()))
        {
            readReply(ch);
            final ByteBuffer w = write(1, key, 0, data, data.length);
            w.limit(w.limit() - 10);
            BlockingSocketIo.writeFully(ch, w);
        }
        assertGuardsUntouched();
        assertTargetStillServesGoodPeers();
    }

    @Test
    void garbageWrongNameAndSilenceAreRefused() throws Exception
    {
        try (SocketChannel ch = SocketChannel.open(address))
        {
            BlockingSocketIo.readFully(ch, ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.CHALLENGE_BODY));
            final byte[] junk = new byte[256];
            new java.util.Random(1).nextBytes(junk);
            BlockingSocketIo.writeFully(ch, ByteBuffer.wrap(junk));
            assertThat(readReply(ch).getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.MALFORMED);
            assertClosed(ch);
        }
        try (SocketChannel ch = handshake("somebody-else"))
        {
            final ByteBuffer r = readReply(ch);
            assertThat(r.getShort(Frames.HEADER_LENGTH)).isEqualTo(Frames.MALFORMED);
            assertThat(reason(r)).contains("not 'somebody-else'");
            assertClosed(ch);
        }
        assertTargetStillServesGoodPeers();
    }

    private static void assertClosed(final SocketChannel ch) throws IOException
    {
        final ByteBuffer one = ByteBuffer.allocate(1);
        try
        {
            assertThat(ch.read(one)).isEqualTo(-1);
        }
        catch (final EOFException | java.net.SocketException ex)
        {
            // reset by peer counts as closed
        }
    }

    private void assertTargetStillServesGoodPeers()
    {
        try (Agent good = tcpAgent("good"))
        {
            final MemorySegment src = arena.allocate(REGION, 4096);
            fill(src, 3);
            good.register(MemoryKind.DRAM, List.of(Region.of(src)));
            final String name = good.loadRemoteMetadata(target.localMetadata());
            final Transfer t = good.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(region), name,
                null);
            t.post();
            t.await(Duration.ofSeconds(20));
            assertSameBytes(src, region);
        }
        assertGuardsUntouched();
    }
}
