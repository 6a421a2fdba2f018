package io.ferry.tcp;

import java.nio.ByteBuffer;

/**
 * One I/O thread's reusable buffer views for scatter/gather I/O: slot j of a frame's I/O vector holds a view of
 * some region window; it is replaced only when the slot moves to another region or window, so steady traffic over
 * the same regions allocates nothing.
 */
final class ViewCache
{
    private final ByteBuffer[] views;
    private final TcpRegion[] regions;
    private final int[] windows;
    private final int[] starts;
    private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    /** A frame's I/O vector: slot 0 for its header (when written), the views from slot 1, then its padding. */
    final ByteBuffer[] iov;
    private final io.ferry.spi.DeviceMemory device;
    private io.ferry.spi.DeviceMemory.Staging lane;
    private TcpRegion staging;
    private long stagingUsed;
    private final long[] pieceDeviceAddress;
    private final long[] pieceDevice;
    private final long[] pieceStagingOffset;
    private final int[] pieceLength;
    private int pieces;
    private long frameBytes;
    /** The whole staging buffer as one view, sliced by {@link #stagingSlice}. */
    private ByteBuffer stagingView;
    /** Pipelined staging: the first piece not yet wholly queued by {@link #queueToHost}/{@link #queueToDevice}. */
    private int rangePiece;

    /**
     * @param slots  the most I/O vector entries a frame needs.
     * @param device host access to device memory, for regions in VRAM (null: DRAM only).
     */
    ViewCache(final int slots, final io.ferry.spi.DeviceMemory device)
    {
        views = new ByteBuffer[slots];
        regions = new TcpRegion[slots];
        windows = new int[slots];
        starts = new int[slots];
        iov = new ByteBuffer[slots + 2]; // the frame's header first, its padding last
        this.device = device;
        pieceDeviceAddress = new long[slots];
        pieceDevice = new long[slots];
        pieceStagingOffset = new long[slots];
        pieceLength = new int[slots];
    }

    /**
     * Starts a frame: device pieces of the previous frame are forgotten and the staging buffer is free again.
     *
     * @param frameBytes the frame's payload bytes (the most that may need staging).
     */
    void begin(final long frameBytes)
    {
        stagingUsed = 0;
        pieces = 0;
        rangePiece = 0;
        this.frameBytes = frameBytes;
    }

    /**
     * @param payload the frame's payload bytes.
     * @return true when every payload byte of the frame is a device piece's, in order in the staging buffer (a
     * frame's pieces are all on the one side's memory kind), so the payload can be pipelined slice by slice.
     */
    boolean wholeFrameStaged(final long payload)
    {
        return 0 != pieces && stagingUsed == payload;
    }

    /**
     * Queues the copies from the device into the staging buffer of the pieces' bytes that lie in [from, to);
     * ranges must come in order, from 0, after the frame's pieces were all set.
     */
    void queueToHost(final long from, final long to)
    {
        queueRange(true, from, to);
    }

    /** Queues the copies from the staging buffer to the device of the pieces' bytes in [from, to), in order. */
    void queueToDevice(final long from, final long to)
    {
        queueRange(false, from, to);
    }

    private void queueRange(final boolean toHost, final long from, final long to)
    {
        while (rangePiece < pieces)
        {
            final long start = pieceStagingOffset[rangePiece];
            final long end = start + pieceLength[rangePiece];
            final long a = Math.max(start, from);
            final long b = Math.min(end, to);
            if (b > a)
            {
                final long deviceAddress = pieceDeviceAddress[rangePiece] + (a - start);
                if (toHost)
                {
                    lane.toHost(pieceDevice[rangePiece], deviceAddress, a, b - a);
                }
                else
                {
                    lane.toDevice(pieceDevice[rangePiece], a, deviceAddress, b - a);
                }
            }
            if (end > to)
            {
                return;
            }
            rangePiece++;
        }
    }

    /** @return a mark of the copies queued so far (see {@link io.ferry.spi.DeviceMemory.Staging#mark()}). */
    int markCopies()
    {
        return lane.mark();
    }

    /** Waits for the copies queued before a mark. */
    void awaitCopies(final int mark)
    {
        lane.awaitMark(mark);
    }

    /** Waits for every queued copy. */
    void awaitCopies()
    {
        lane.await();
    }

    /** @return a view of [from, to) of the staging buffer. */
    ByteBuffer stagingSlice(final long from, final long to)
    {
        return stagingView.limit((int)to).position((int)from);
    }

    /**
     * @return true when the frame being built has pieces in device memory (staged through pinned host memory).
     */
    boolean staged()
    {
        return 0 != pieces;
    }

    /** Before sending: copies every device piece of the frame into its place in the staging buffer. */
    void stageToHost()
    {
        queueToHost(0, stagingUsed);
        lane.await();
    }

    /** After receiving: copies every device piece of the frame from the staging buffer to the device. */
    void stageToDevice()
    {
        queueToDevice(0, stagingUsed);
        lane.await();
    }

    /** Frees the staging buffer; the cache can still be used (it allocates again). */
    void close()
    {
        final io.ferry.spi.DeviceMemory.Staging l = lane;
        if (null != l)
        {
            lane = null;
            staging = null;
            stagingView = null;
            l.close();
        }
    }

    /**
     * CRC32C of the bytes the first {@code count} slots span, whether they were just filled by a read or are about
     * to be written; leaves every view positioned at its start.
     *
     * @param count slots in use.
     * @return the checksum.
     */
    int checksum(final int count)
    {
        crc.reset();
        for (int i = 0; i < count; i++)
        {
            final ByteBuffer v = iov[i + 1];
            v.position(starts[i]);
            crc.update(v);
            v.position(starts[i]);
        }
        return (int)crc.getValue();
    }

    /**
     * Points I/O vector entry {@code slot + 1} at [offset, offset + count) of the region.
     *
     * @param slot   span index within the frame.
     * @param region the region.
     * @param offset offset in the region (the span never crosses a window boundary).
     * @param count  bytes.
     */
    void set(final int slot, final TcpRegion region, final long offset, final int count)
    {
        if (region.device >= 0)
        {
            stage(slot, region, offset, count);
            return;
        }
        final int window = (int)(offset >>> TcpRegion.WINDOW_SHIFT);
        ByteBuffer v = views[slot];
        if (regions[slot] != region || windows[slot] != window || null == v)
        {
            v = region.newView(window);
            views[slot] = v;
            regions[slot] = region;
            windows[slot] = window;
        }
        final int start = (int)(offset & (TcpRegion.WINDOW - 1));
        v.limit(start + count).position(start);
        starts[slot] = start;
        iov[slot + 1] = v;
    }


    /** A device piece: its bytes travel through the next free part of the pinned staging buffer. */
    private void stage(final int slot, final TcpRegion region, final long offset, final int count)
    {
        if (null == device)
        {
            throw new IllegalStateException("VRAM region " + region + " but no device memory access");
        }
        if (null == staging || (0 == pieces && frameBytes > staging.length))
        {
            close();
            final long size = Math.max(STAGING_MIN, Long.highestOneBit(Math.max(1, frameBytes - 1)) << 1);
            lane = device.openStaging(size);
            staging = new TcpRegion(0, lane.buffer().address(), size, lane.buffer());
            stagingView = lane.buffer().asByteBuffer();
        }
        if (stagingUsed + count > staging.length)
        {
            throw new IllegalStateException("a frame's device pieces exceed its announced " + frameBytes + " B");
        }
        pieceDeviceAddress[pieces] = region.address + offset;
        pieceDevice[pieces] = region.device;
        pieceStagingOffset[pieces] = stagingUsed;
        pieceLength[pieces] = count;
        pieces++;
        final TcpRegion s = staging;
        final long at = stagingUsed;
        stagingUsed += count;
        // the staging region is DRAM: this fills the slot with a view of it
        set(slot, s, at, count);
    }

    private static final long STAGING_MIN = 4L << 20;
}
