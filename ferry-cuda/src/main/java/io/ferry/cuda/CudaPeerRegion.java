package io.ferry.cuda;

import io.ferry.spi.MemoryHandle;

/**
 * A same-host peer's VRAM region, mapped into this process through its allocation's IPC handle.
 */
final class CudaPeerRegion implements MemoryHandle
{
    final String peer;
    /** Where the region starts in this process's address space. */
    final long address;
    final long length;
    /** The device ordinal the memory lives on (as the peer numbers it). */
    final int device;
    final IpcMappings.Mapping mapping;

    CudaPeerRegion(final String peer, final long address, final long length, final int device,
        final IpcMappings.Mapping mapping)
    {
        this.peer = peer;
        this.address = address;
        this.length = length;
        this.device = device;
        this.mapping = mapping;
    }

    public String toString()
    {
        return "VRAM of " + peer + " [mapped at 0x" + Long.toHexString(address) + ", " + length + " B, cuda:" + device +
            "]";
    }
}
