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
    final ByteBuffer[] iov;

    ViewCache(final int slots)
    {
        views = new ByteBuffer[slots];
        regions = new TcpRegion[slots];
        windows = new int[slots];
        starts = new int[slots];
        iov = new ByteBuffer[slots + 1];
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

}
