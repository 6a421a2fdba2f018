package io.ferry.tcp;

import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A DRAM region registered with the TCP backend. Peers name it by its access key; every span they send is checked
 * against its length before any byte moves. I/O goes through {@link ByteBuffer} views of the segment in windows of
 * at most {@link #WINDOW} bytes (a view cannot exceed 2 GiB); each I/O thread keeps its own duplicates
 * ({@link ViewCache}), so no view is shared between threads.
 */
final class TcpRegion implements MemoryHandle
{
    static final int WINDOW_SHIFT = 30;
    static final long WINDOW = 1L << WINDOW_SHIFT;

    final long key;
    final long address;
    final long length;
    final MemorySegment segment;
    /** The device id of a VRAM region (its bytes are staged through pinned host memory); -1 for DRAM. */
    final long device;
    private final ByteBuffer[] windows;
    volatile boolean live = true;

    /** A VRAM region: no host view; {@link ViewCache} stages its bytes. */
    TcpRegion(final long key, final long address, final long length, final long device)
    {
        this.key = key;
        this.address = address;
        this.length = length;
        this.segment = null;
        this.device = device;
        this.windows = new ByteBuffer[0];
    }

    TcpRegion(final long key, final long address, final long length, final MemorySegment segment)
    {
        this.key = key;
        this.address = address;
        this.length = length;
        this.segment = segment;
        this.device = -1;
        final int n = (int)((length + WINDOW - 1) >>> WINDOW_SHIFT);
        windows = new ByteBuffer[n];
        for (int i = 0; i < n; i++)
        {
            final long start = (long)i << WINDOW_SHIFT;
            windows[i] = segment.asSlice(start, Math.min(WINDOW, length - start)).asByteBuffer();
        }
    }

    /**
     * @param offset  start of a span.
     * @param count   its length.
     * @return true when [offset, offset + count) lies inside the region.
     */
    boolean contains(final long offset, final long count)
    {
        return offset >= 0 && count >= 0 && offset <= length && count <= length - offset;
    }

    /**
     * @return false when the region's host memory was freed behind ferry's back (its arena closed while it was
     * still registered): such memory is refused, never touched.
     */
    boolean memoryAlive()
    {
        return null == segment || segment.scope().isAlive();
    }

    ByteBuffer newView(final int window)
    {
        return windows[window].duplicate();
    }

    public String toString()
    {
        return (device < 0 ? "DRAM" : "VRAM (cuda:" + device + ")") + " region [0x" + Long.toHexString(address) +
            ", " + length + " B]";
    }
}
