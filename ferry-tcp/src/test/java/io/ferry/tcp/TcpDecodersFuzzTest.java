package io.ferry.tcp;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ferry.Agent;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of the TCP backend's decoders of peer bytes: the frame header check, HELLO and
 * HELLO_OK, connection info, and — through a real socket — everything a target parses after the handshake (WRITE,
 * READ_REQ and NOTIFY frames whose every field is either consistent or fuzzed). The invariants: no exception but
 * the documented refusals, no byte outside the registered region ever changes, and the target keeps serving.
 * Under {@code ./build test} each target replays its corpus; {@code bench/fuzz/run} fuzzes.
 */
class TcpDecodersFuzzTest
{
    private static final int GUARD = 4096;
    private static final int REGION = 64 * 1024;

    private static Arena arena;
    private static Agent target;
    private static MemorySegment whole;
    private static long key;
    private static InetSocketAddress address;

    @BeforeAll
    static void startTarget()
    {
        arena = Arena.ofShared();
        target = TcpFixtures.tcpAgent("fuzz-target", "max_frame_bytes", "1048576", "chunk_size", "262144",
            "frame_timeout_ms", "2000", "max_notification_bytes", "65536");
        whole = arena.allocate(GUARD + REGION + GUARD, 4096);
        whole.fill((byte)0x5A);
        target.register(MemoryKind.DRAM, java.util.List.of(Region.of(whole.asSlice(GUARD, REGION))));
        final AgentMetadata md = MetadataCodec.decode(target.localMetadata());
        key = md.regions().getFirst().accessKey();
        address = Endpoints.decode(target.name(), md.connectionInfo().get("TCP")).addresses().getFirst();
    }

    @AfterAll
    static void stopTarget() throws IOException
    {
        if (null != initiator)
        {
            initiator.close();
            fakeServer.close();
        }
        target.close();
        arena.close();
    }

    @FuzzTest(maxDuration = "30m")
    void frameHeadersAndHandshake(final byte[] bytes)
    {
        if (bytes.length < Frames.HEADER_LENGTH)
        {
            return;
        }
        final ByteBuffer h = ByteBuffer.wrap(bytes, 0, Frames.HEADER_LENGTH).slice();
        final String bad = Frames.checkHeader(h, 1 << 20);
        if (null == bad)
        {
            final int body = h.getInt(4);
            assertThat(body).isBetween(0, 1 << 20);
            assertThat((Frames.HEADER_LENGTH + body) % Frames.ALIGN).isZero();
        }
        final ByteBuffer rest = ByteBuffer.wrap(bytes, Frames.HEADER_LENGTH, bytes.length - Frames.HEADER_LENGTH);
        try
        {
            final Handshake.Hello hello = Handshake.Hello.parse(rest.slice());
            assertThat(hello.initiator()).isNotEmpty();
            assertThat(hello.mac()).hasSize(Frames.MAC_LENGTH);
        }
        catch (final IllegalArgumentException | java.nio.BufferUnderflowException expected)
        {
            // refused as a malformed HELLO
        }
        if (bytes.length >= Frames.ALIGN)
        {
            final Handshake.Limits limits = Handshake.Limits.parse(ByteBuffer.wrap(bytes));
            if (null != limits)
            {
                assertThat(limits.maxFrameBytes()).isPositive();
                assertThat(limits.maxSpans()).isPositive();
            }
        }
    }

    /** A fake target whose answer to the initiator's first frame is the fuzzer's bytes (see initiatorReplies). */
    private static java.nio.channels.ServerSocketChannel fakeServer;
    private static volatile byte[] fakeReply = new byte[0];
    private static Agent initiator;
    private static MemorySegment initiatorBuffer;

    private static void startFake() throws IOException
    {
        fakeServer = java.nio.channels.ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        Thread.ofVirtual().start(() ->
        {
            while (fakeServer.isOpen())
            {
                try
                {
                    final SocketChannel ch = fakeServer.accept();
                    Thread.ofVirtual().start(() -> answer(ch));
                }
                catch (final IOException ex)
                {
                    return;
                }
            }
        });
        initiator = TcpFixtures.tcpAgent("fuzz-init", "paths", "1", "reconnect_interval_ms", "0",
            "ack_timeout_ms", "2000");
        initiatorBuffer = arena.allocate(65536, 4096);
        initiator.register(MemoryKind.DRAM, java.util.List.of(Region.of(initiatorBuffer)));
    }

    /** The fake's side: a correct handshake, then the fuzzer's bytes as the answer to the first frame. */
    private static void answer(final SocketChannel ch)
    {
        try (ch)
        {
            FakeTarget.acceptHello(ch, new Handshake.Limits(1 << 20, 65536, 256));
            final ByteBuffer h = ByteBuffer.allocate(Frames.HEADER_LENGTH);
            BlockingSocketIo.readFully(ch, h);
            final long id = h.getLong(8);
            BlockingSocketIo.skip(ch, ByteBuffer.allocate(65536), h.getInt(4));
            final byte[] reply = fakeReply.clone();
            if (reply.length >= Frames.HEADER_LENGTH && 0 == (reply[0] & 1))
            {
                ByteBuffer.wrap(reply).putLong(8, id); // half the answers name the frame they answer
            }
            BlockingSocketIo.writeFully(ch, ByteBuffer.wrap(reply));
            ch.shutdownOutput();
            ch.read(ByteBuffer.allocate(1));
        }
        catch (final IOException | RuntimeException ignore)
        {
            // the initiator went away
        }
    }

    /**
     * The initiator's side: whatever a target answers to a WRITE (a bad frame, a wrong id or size, a lying reason
     * length, a READ_DATA where an ACK belongs), the transfer ends within its deadline, DONE or with a
     * FerryException, and the initiator goes on.
     */
    @FuzzTest(maxDuration = "30m")
    void initiatorReplies(final byte[] reply) throws Exception
    {
        if (null == fakeServer)
        {
            startFake();
        }
        fakeReply = reply;
        final int port = ((InetSocketAddress)fakeServer.getLocalAddress()).getPort();
        final String name = "fuzz-fake";
        if (!initiator.peers().contains(name))
        {
            initiator.loadRemoteMetadata(MetadataCodec.encode(new AgentMetadata(name, java.util.Map.of("TCP",
                Endpoints.encode(java.util.List.of(new InetSocketAddress("127.0.0.1", port)))),
                java.util.List.of(new io.ferry.metadata.RegionRecord("TCP", MemoryKind.DRAM, 0x7000_0000L, 1 << 20, 0,
                    42, new byte[0], new byte[0])))));
        }
        final io.ferry.Transfer t = initiator.createTransfer(io.ferry.TransferOp.WRITE,
            io.ferry.DescList.dram(initiatorBuffer.asSlice(0, 4096)),
            io.ferry.DescList.builder(MemoryKind.DRAM).add(0x7000_0000L, 4096).build(), name, null);
        try
        {
            t.post();
            t.await(java.time.Duration.ofSeconds(10));
        }
        catch (final io.ferry.FerryException expected)
        {
            assertThat(expected.code()).isNotEqualTo(io.ferry.ErrorCode.TIMED_OUT);
        }
        finally
        {
            t.close();
            try
            {
                initiator.invalidateRemote(name); // the next input meets a fresh link
            }
            catch (final io.ferry.FerryException gone)
            {
                // the failed link dropped the peer already
            }
        }
    }

    @FuzzTest(maxDuration = "30m")
    void connectionInfo(final FuzzedDataProvider data)
    {
        try
        {
            final Endpoints.Info info = Endpoints.decode("fuzz", data.consumeRemainingAsBytes());
            assertThat(info.addresses()).isNotEmpty();
        }
        catch (final io.ferry.FerryException expected)
        {
            // MISMATCH naming what is wrong
        }
    }

    @FuzzTest(maxDuration = "30m")
    void targetFrames(final FuzzedDataProvider data) throws Exception
    {
        final byte[] stream = frames(data);
        try (SocketChannel ch = SocketChannel.open(address))
        {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
            final Thread drain = Thread.ofVirtual().start(() -> drain(ch));
            try
            {
                BlockingSocketIo.writeFully(ch, ByteBuffer.wrap(stream));
                ch.shutdownOutput();
            }
            catch (final IOException closedByTarget)
            {
                // the target closed the connection over a malformed frame: that is its answer
            }
            drain.join(10_000);
            assertThat(drain.isAlive()).as("the target answered or closed within its deadlines").isFalse();
        }
        for (final long at : new long[] {0, GUARD - 1, GUARD + REGION, GUARD + REGION + GUARD - 1})
        {
            assertThat(whole.get(ValueLayout.JAVA_BYTE, at)).as("guard byte " + at).isEqualTo((byte)0x5A);
        }
        for (long at = 0; at < GUARD; at += 8)
        {
            assertThat(whole.get(ValueLayout.JAVA_LONG_UNALIGNED, at)).isEqualTo(0x5A5A5A5A5A5A5A5AL);
            assertThat(whole.get(ValueLayout.JAVA_LONG_UNALIGNED, GUARD + REGION + at)).isEqualTo(0x5A5A5A5A5A5A5A5AL);
        }
    }

    private static void drain(final SocketChannel ch)
    {
        final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        try
        {
            while (ch.read(buf.clear()) >= 0)
            {
                // replies are not checked here: the invariants are the guards and the target's liveness
            }
        }
        catch (final IOException ignore)
        {
            // reset by the target
        }
    }

    /** A handshake (good or fuzzed) and then frames whose every field is consistent or fuzzed, as the data say. */
    private static byte[] frames(final FuzzedDataProvider data)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (data.consumeInt(0, 15) == 0)
        {
            out.writeBytes(data.consumeBytes(data.consumeInt(0, 4096))); // a fuzzed HELLO and whatever follows
            return out.toByteArray();
        }
        final ByteBuffer hello = Handshake.hello(data.consumeBoolean() ? "fuzzer" : data.consumeString(40),
            data.consumeBoolean() ? target.name() : data.consumeString(40), data.consumeInt(0, 65535),
            new byte[Frames.MAC_LENGTH], data.consumeBoolean() ? new byte[Frames.CHALLENGE_LENGTH] : null);
        out.write(hello.array(), 0, hello.limit());
        final int frames = data.consumeInt(1, 8);
        for (int f = 0; f < frames && data.remainingBytes() > 0; f++)
        {
            switch (data.consumeInt(0, 4))
            {
                case 0 -> out.writeBytes(data.consumeBytes(data.consumeInt(0, 256)));
                case 1, 2 -> chunk(data, out, data.consumeBoolean() ? Frames.WRITE : Frames.READ_REQ);
                case 3 -> notify(data, out);
                default -> header(out, data.consumeBoolean() ? Frames.CLOSE : (byte)data.consumeInt(0, 12),
                    data.consumeBoolean() ? Frames.EMPTY_BODY : data.consumeInt(), data.consumeLong());
            }
        }
        return out.toByteArray();
    }

    private static void header(final ByteArrayOutputStream out, final byte type, final int body, final long id)
    {
        final ByteBuffer h = ByteBuffer.allocate(Frames.HEADER_LENGTH);
        Frames.putHeader(h, type, body, id);
        out.write(h.array(), 0, Frames.HEADER_LENGTH);
    }

    private static void chunk(final FuzzedDataProvider data, final ByteArrayOutputStream out, final byte type)
    {
        final int spans = data.consumeInt(0, 300);
        final long[] keys = new long[spans];
        final long[] offsets = new long[spans];
        final int[] lengths = new int[spans];
        long total = 0;
        for (int i = 0; i < spans; i++)
        {
            keys[i] = data.consumeInt(0, 7) != 0 ? key : data.consumeLong();
            offsets[i] = data.consumeBoolean() ? data.consumeLong(0, REGION) : data.consumeLong();
            lengths[i] = data.consumeBoolean() ? data.consumeInt(0, 4096) : data.consumeInt();
            total += Integer.toUnsignedLong(lengths[i]);
        }
        final boolean write = Frames.WRITE == type;
        final long payload = write ? Math.min(total, 1 << 18) : 0;
        final long honest = Frames.chunkBody(spans, payload);
        final int body = data.consumeInt(0, 5) != 0 ? (int)honest : data.consumeInt();
        header(out, type, body, data.consumeLong());
        final ByteBuffer fixed = ByteBuffer.allocate(Frames.chunkPrefix(Math.max(spans, 0)) - Frames.HEADER_LENGTH);
        fixed.putShort((short)(data.consumeInt(0, 7) != 0 ? spans : data.consumeInt(0, 65535)))
            .putShort(data.consumeBoolean() ? 0 : Frames.FLAG_CRC).putInt(data.consumeInt());
        for (int i = 0; i < spans; i++)
        {
            fixed.putLong(keys[i]).putLong(offsets[i]).putInt(lengths[i]);
        }
        out.write(fixed.array(), 0, fixed.capacity());
        if (write)
        {
            final byte[] bytes = new byte[(int)Frames.aligned(payload)];
            java.util.Arrays.fill(bytes, (byte)data.consumeInt(0, 255));
            out.writeBytes(bytes);
        }
    }

    private static void notify(final FuzzedDataProvider data, final ByteArrayOutputStream out)
    {
        final short kind = (short)(data.consumeInt(0, 4) != 0 ? data.consumeInt(0, 2) : data.consumeInt(0, 65535));
        final byte[] reason = data.consumeBytes(data.consumeInt(0, 64));
        final byte[] payload = data.consumeBytes(data.consumeInt(0, 1024));
        final int honest = Frames.notifyBody(reason.length, payload.length);
        header(out, Frames.NOTIFY, data.consumeInt(0, 5) != 0 ? honest : data.consumeInt(), data.consumeLong());
        final ByteBuffer b = ByteBuffer.allocate(honest);
        b.putShort(kind).putShort((short)0)
            .putInt(data.consumeInt(0, 5) != 0 ? reason.length : data.consumeInt())
            .putInt(data.consumeInt(0, 5) != 0 ? payload.length : data.consumeInt()).putInt(0)
            .put(reason).put(payload);
        out.write(b.array(), 0, honest);
    }
}
