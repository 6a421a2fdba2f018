package io.ferry.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Moves the payload of a frame whose bytes all live in device memory between the socket and the device, through
 * the pinned staging buffer, slice by slice so that the device copy of one slice overlaps the socket I/O of
 * another:
 * <pre>
 *   send:    device -> staging  | s0 | s1 | s2 | s3 |             (every slice's copy queued at once, a mark each)
 *            staging -> socket       | s0 | s1 | s2 | s3 |        (slice k written once its mark has passed)
 *   receive: socket -> staging  | s0 | s1 | s2 | s3 |
 *            staging -> device                 | s0 | s1 | s2 s3 | (slice k's copy queued once slice k + 2 is read,
 *                                                                  the rest after the last read; one wait for all
 *                                                                  before the ack)
 * </pre>
 * Without it, a 4 MiB chunk waited for its whole device copy before its first byte went out, and the receiver
 * read nothing while it copied the chunk to the device. The receiver's copies lag {@link #COPY_LAG_SLICES} slices
 * behind its reads: a host-to-device copy of bytes the receiving core has only just written slowed the socket reads
 * (4 paths on an H100 host: VRAM at 0.58-0.75 of DRAM with each slice copied as soon as it was read, 0.72-0.82 with
 * the lag, TcpVramBench, six runs each).
 */
final class StagedPipeline
{
    /** The smallest slice: smaller ones cost more in per-copy launch and wait than they gain in overlap. */
    static final long MIN_SLICE = 512 * 1024;

    /** How many slices the receiver reads past a slice before it queues that slice's copy to the device. */
    static final int COPY_LAG_SLICES = 2;

    private StagedPipeline()
    {
    }

    /**
     * @param payload a frame's payload bytes.
     * @return the bytes per slice for it: at least {@link #MIN_SLICE}, and few enough slices for the lane's marks.
     */
    static long sliceBytes(final long payload)
    {
        final long marks = io.ferry.spi.DeviceMemory.Staging.MAX_MARKS;
        return Math.max(MIN_SLICE, (payload + marks - 1) / marks);
    }

    /**
     * Writes the header and then the staged payload, each slice as soon as its device copy is done.
     *
     * @param channel the socket.
     * @param header  the frame's header, ready to write.
     * @param views   the frame's views; {@link ViewCache#wholeFrameStaged} holds.
     * @param payload the payload bytes.
     * @param pair    a 2-entry scratch array (header and first slice go out in one call).
     * @throws IOException when the socket fails.
     */
    static void write(final SocketChannel channel, final ByteBuffer header, final ViewCache views,
        final long payload, final ByteBuffer[] pair) throws IOException
    {
        final long slice = sliceBytes(payload);
        int first = 0;
        for (long at = 0; at < payload; at += slice)
        {
            views.queueToHost(at, Math.min(payload, at + slice));
            final int mark = views.markCopies();
            if (0 == at)
            {
                first = mark;
            }
        }
        int k = 0;
        for (long at = 0; at < payload; at += slice, k++)
        {
            views.awaitCopies(first + k);
            final ByteBuffer data = views.stagingSlice(at, Math.min(payload, at + slice));
            if (0 == at)
            {
                pair[0] = header;
                pair[1] = data;
                BlockingSocketIo.writeFully(channel, pair, 2);
            }
            else
            {
                BlockingSocketIo.writeFully(channel, data);
            }
        }
    }

    /**
     * Reads the staged payload slice by slice, queueing each slice's copy to the device once {@link #COPY_LAG_SLICES}
     * more slices are in (the rest after the last read), and returns once every byte is on the device.
     *
     * @param channel the socket.
     * @param views   the frame's views; {@link ViewCache#wholeFrameStaged} holds.
     * @param payload the payload bytes.
     * @throws IOException when the socket fails.
     */
    static void read(final SocketChannel channel, final ViewCache views, final long payload) throws IOException
    {
        final long slice = sliceBytes(payload);
        final long lag = COPY_LAG_SLICES * slice;
        long queued = 0;
        for (long at = 0; at < payload; at += slice)
        {
            final long end = Math.min(payload, at + slice);
            BlockingSocketIo.readFully(channel, views.stagingSlice(at, end));
            if (end - lag > queued)
            {
                views.queueToDevice(queued, end - lag);
                queued = end - lag;
            }
        }
        views.queueToDevice(queued, payload);
        views.awaitCopies();
    }
}
