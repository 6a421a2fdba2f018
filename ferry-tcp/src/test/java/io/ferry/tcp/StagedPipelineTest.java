package io.ferry.tcp;

import io.ferry.MemoryKind;
import io.ferry.spi.DeviceMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The staged pipeline over a real socket pair, with a fake "device" in host memory whose copies run only when a
 * mark or the whole queue is waited for: a slice sent before its copy was waited for, or a frame acknowledged before
 * its copies to the device ran, shows up as wrong bytes.
 */
@Timeout(30)
class StagedPipelineTest
{
    /** Host memory posing as device memory; queued copies run lazily, in order, when waited for. */
    private static final class LazyDevice implements DeviceMemory
    {
        final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        /** {staging offset, length} of every copy queued to the device, in order. */
        final List<long[]> toDevice = java.util.Collections.synchronizedList(new ArrayList<>());

        public MemoryKind kind()
        {
            return MemoryKind.VRAM;
        }

        public String unavailableReason()
        {
            return null;
        }

        public void checkRegion(final long address, final long length, final long device)
        {
        }

        public Staging openStaging(final long bytes)
        {
            final Arena arena = Arena.ofShared();
            final MemorySegment buffer = arena.allocate(bytes, 4096);
            return new Staging()
            {
                private final List<long[]> queue = new ArrayList<>(); // {src, dst, length, markAfter}
                private int done;
                private int marks;
                private final List<Integer> markAt = new ArrayList<>();

                public MemorySegment buffer()
                {
                    return buffer;
                }

                public void toHost(final long device, final long src, final long bufferOffset, final long length)
                {
                    queue.add(new long[] {src, buffer.address() + bufferOffset, length});
                }

                public void toDevice(final long device, final long bufferOffset, final long dst, final long length)
                {
                    queue.add(new long[] {buffer.address() + bufferOffset, dst, length});
                    LazyDevice.this.toDevice.add(new long[] {bufferOffset, length});
                }

                public int mark()
                {
                    markAt.add(queue.size());
                    return marks++;
                }

                @SuppressWarnings("restricted")
                private void runUpTo(final int n)
                {
                    for (; done < n; done++)
                    {
                        final long[] c = queue.get(done);
                        MemorySegment.copy(MemorySegment.ofAddress(c[0]).reinterpret(c[2]), 0,
                            MemorySegment.ofAddress(c[1]).reinterpret(c[2]), 0, c[2]);
                    }
                }

                public void awaitMark(final int mark)
                {
                    log.add("mark " + mark);
                    runUpTo(markAt.get(mark));
                }

                public void await()
                {
                    log.add("await");
                    runUpTo(queue.size());
                }

                public void close()
                {
                    await();
                    arena.close();
                }
            };
        }
    }

    /** Socket I/O on another thread. */
    private interface SocketIo
    {
        void run() throws java.io.IOException;
    }

    private static CompletableFuture<Void> inBackground(final SocketIo io)
    {
        return CompletableFuture.runAsync(() ->
        {
            try
            {
                io.run();
            }
            catch (final java.io.IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
        });
    }

    /** @return {@code size} (a multiple of 8) random bytes. */
    private static MemorySegment randomBytes(final Arena arena, final long size, final Random random)
    {
        final MemorySegment m = arena.allocate(size, 4096);
        for (long i = 0; i < size; i += 8)
        {
            m.set(java.lang.foreign.ValueLayout.JAVA_LONG, i, random.nextLong());
        }
        return m;
    }

    /**
     * One frame of scattered "device" pieces: random source bytes, pieces of 1 B to 64 KiB at random source offsets,
     * each landing size / pieces apart at the destination; the sender's and the receiver's views are set.
     */
    private static final class ScatteredFrame implements AutoCloseable
    {
        final MemorySegment src;
        final MemorySegment dst;
        final long[] srcOff;
        final long[] dstOff;
        final int[] len;
        final long payload;
        final ViewCache tx;
        final ViewCache rx;

        ScatteredFrame(final Arena arena, final DeviceMemory device, final long seed, final long size,
            final int pieces)
        {
            final Random random = new Random(seed);
            src = randomBytes(arena, size, random);
            dst = arena.allocate(size, 4096);
            final TcpRegion srcRegion = new TcpRegion(1, src.address(), size, 0L);
            final TcpRegion dstRegion = new TcpRegion(2, dst.address(), size, 0L);
            srcOff = new long[pieces];
            dstOff = new long[pieces];
            len = new int[pieces];
            long bytes = 0;
            for (int p = 0; p < pieces; p++)
            {
                len[p] = 1 + random.nextInt(64 * 1024);
                srcOff[p] = random.nextLong(size - len[p]);
                dstOff[p] = p * (size / pieces);
                bytes += len[p];
            }
            payload = bytes;
            tx = new ViewCache(pieces, device);
            rx = new ViewCache(pieces, device);
            tx.begin(payload);
            rx.begin(payload);
            for (int p = 0; p < pieces; p++)
            {
                tx.set(p, srcRegion, srcOff[p], len[p]);
                rx.set(p, dstRegion, dstOff[p], len[p]);
            }
        }

        void assertLanded()
        {
            for (int p = 0; p < len.length; p++)
            {
                assertThat(dst.asSlice(dstOff[p], len[p]).mismatch(src.asSlice(srcOff[p], len[p])))
                    .as("piece %d", p).isEqualTo(-1L);
            }
        }

        public void close()
        {
            tx.close();
            rx.close();
        }
    }

    @Test
    void scatteredDevicePiecesCrossTheSocketIntact() throws Exception
    {
        final LazyDevice device = new LazyDevice();
        try (Arena arena = Arena.ofShared();
            ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            SocketChannel out = SocketChannel.open(server.getLocalAddress());
            SocketChannel in = server.accept();
            // 300 pieces, destinations 64 KiB or more apart
            ScatteredFrame frame = new ScatteredFrame(arena, device, 7, 32L << 20, 300))
        {
            final long payload = frame.payload;
            assertThat(frame.tx.wholeFrameStaged(payload)).isTrue();
            assertThat(StagedPipeline.sliceBytes(payload)).isEqualTo(StagedPipeline.MIN_SLICE);
            final ByteBuffer header = ByteBuffer.allocateDirect(16).putLong(0x5EED).putLong(payload).flip();
            final CompletableFuture<Void> sent = inBackground(() ->
                StagedPipeline.write(out, header, frame.tx, payload, new ByteBuffer[2]));
            final ByteBuffer got = ByteBuffer.allocateDirect(16);
            BlockingSocketIo.readFully(in, got);
            assertThat(got.getLong(0)).isEqualTo(0x5EED);
            assertThat(got.getLong(8)).isEqualTo(payload);
            StagedPipeline.read(in, frame.rx, payload);
            sent.get(10, TimeUnit.SECONDS);
            frame.assertLanded();
            final long slices = (payload + StagedPipeline.MIN_SLICE - 1) / StagedPipeline.MIN_SLICE;
            assertThat(device.log).as("every slice's mark waited for in order, then one wait on the receiver")
                .startsWith(java.util.stream.LongStream.range(0, slices).mapToObj(k -> "mark " + k)
                    .toArray(String[]::new))
                .endsWith("await");
        }
    }

    @Test
    void theReceiverCopiesASliceToTheDeviceOnlyOnceTwoMoreSlicesAreIn() throws Exception
    {
        final LazyDevice device = new LazyDevice();
        final long slice = StagedPipeline.MIN_SLICE;
        final long payload = 8 * slice;
        try (Arena arena = Arena.ofShared();
            ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            SocketChannel out = SocketChannel.open(server.getLocalAddress());
            SocketChannel in = server.accept())
        {
            final MemorySegment dst = arena.allocate(payload, 4096);
            final ViewCache rx = new ViewCache(1, device);
            try
            {
                rx.begin(payload);
                rx.set(0, new TcpRegion(2, dst.address(), payload, 0L), 0, (int)payload);
                final MemorySegment src = randomBytes(arena, payload, new Random(3));
                final CompletableFuture<Void> received = inBackground(() -> StagedPipeline.read(in, rx, payload));
                BlockingSocketIo.writeFully(out, src.asSlice(0, 3 * slice).asByteBuffer());
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (device.toDevice.isEmpty() && System.nanoTime() < deadline)
                {
                    Thread.sleep(1);
                }
                // a receiver that copied each slice as soon as it was read would have queued 3 by now
                Thread.sleep(200);
                assertThat(device.toDevice).as("after 3 slices read, only the first is on its way to the device")
                    .singleElement().satisfies(c -> assertThat(c).containsExactly(0, slice));
                BlockingSocketIo.writeFully(out, src.asSlice(3 * slice).asByteBuffer());
                received.get(10, TimeUnit.SECONDS);
                assertThat(dst.mismatch(src)).isEqualTo(-1L);
                long next = 0;
                for (final long[] c : device.toDevice)
                {
                    assertThat(c[0]).as("copies follow each other").isEqualTo(next);
                    next += c[1];
                }
                assertThat(next).isEqualTo(payload);
                assertThat(device.toDevice.getLast()).as("the last two slices go after the last read, together")
                    .containsExactly(6 * slice, 2 * slice);
            }
            finally
            {
                rx.close(); // also when an assertion fails, so the staging buffer's arena does not outlive the test
            }
        }
    }

    @Test
    void wholeFrameStagingWithoutThePipelineCopiesEveryPiece()
    {
        // the path CRC32C frames take: all pieces staged (or unstaged) at once, then one wait
        try (Arena arena = Arena.ofShared();
            ScatteredFrame frame = new ScatteredFrame(arena, new LazyDevice(), 11, 4L << 20, 40))
        {
            frame.tx.stageToHost();
            frame.rx.stagingSlice(0, frame.payload).put(frame.tx.stagingSlice(0, frame.payload));
            frame.rx.stageToDevice();
            frame.assertLanded();
        }
    }

    @Test
    void slicesStayFewEnoughForTheLanesMarks()
    {
        assertThat(StagedPipeline.sliceBytes(1)).isEqualTo(StagedPipeline.MIN_SLICE);
        final long big = 1L << 30;
        assertThat(big / StagedPipeline.sliceBytes(big)).isLessThanOrEqualTo(DeviceMemory.Staging.MAX_MARKS);
        final long odd = 64L * StagedPipeline.MIN_SLICE + 1;
        assertThat((odd + StagedPipeline.sliceBytes(odd) - 1) / StagedPipeline.sliceBytes(odd))
            .isLessThanOrEqualTo(DeviceMemory.Staging.MAX_MARKS);
    }
}
