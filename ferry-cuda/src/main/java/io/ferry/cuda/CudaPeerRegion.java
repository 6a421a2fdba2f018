package io.ferry.cuda;

import io.ferry.spi.MemoryHandle;

/**
 * A same-host peer's VRAM region, reached through its allocation's IPC handle. The allocation is mapped once per
 * local device that issues copies to or from it (opened in that device's context, the driver enabling peer access
 * as needed), so a copy between GPUs goes peer to peer instead of through host memory.
 */
final class CudaPeerRegion implements MemoryHandle
{
    final String peer;
    final byte[] handle;
    /** The region's offset from its allocation's base. */
    final long offset;
    final long length;
    /** The device the memory lives on, as this process numbers it (the peer's ordinal where it exists here). */
    final int device;
    private final IpcMappings mappings;
    private final IpcMappings.Mapping[] byDevice;
    /** For an agent in this process: the region's own address, valid here; else 0. */
    private final long direct;

    /** A region of an agent in this process, reached by its own address. */
    CudaPeerRegion(final String peer, final long address, final long length, final int device)
    {
        this.peer = peer;
        this.handle = null;
        this.offset = 0;
        this.length = length;
        this.device = device;
        this.mappings = null;
        this.byDevice = new IpcMappings.Mapping[0];
        this.direct = address;
    }

    CudaPeerRegion(final String peer, final byte[] handle, final long offset, final long length, final int device,
        final IpcMappings mappings, final int deviceCount)
    {
        this.peer = peer;
        this.handle = handle;
        this.offset = offset;
        this.length = length;
        this.device = device;
        this.mappings = mappings;
        this.byDevice = new IpcMappings.Mapping[deviceCount];
        this.direct = 0;
    }

    /**
     * @param issuing the local device whose stream copies to or from the region.
     * @return where the region starts, mapped in that device's context.
     */
    synchronized long address(final int issuing)
    {
        if (0 != direct)
        {
            return direct;
        }
        IpcMappings.Mapping m = byDevice[issuing];
        if (null == m)
        {
            m = mappings.open(handle, issuing);
            byDevice[issuing] = m;
        }
        return m.base + offset;
    }

    boolean isDirect()
    {
        return 0 != direct;
    }

    synchronized void release()
    {
        for (int d = 0; d < byDevice.length; d++)
        {
            if (null != byDevice[d])
            {
                mappings.release(byDevice[d]);
                byDevice[d] = null;
            }
        }
    }

    public String toString()
    {
        return "VRAM of " + peer + " [" + length + " B at offset " + offset + " of its allocation, cuda:" + device + "]";
    }
}
