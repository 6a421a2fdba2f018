package io.ferry.shm;

import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;

/**
 * A region this agent registered with SHM: its memory, its key, and the shared memory file it lies in (null when it
 * was allocated elsewhere and peers reach it by cross-memory attach).
 */
final class ShmLocalRegion implements MemoryHandle
{
    final long address;
    final long length;
    final long accessKey;
    final MemorySegment segment;
    final ShmFile file;
    volatile boolean live = true;

    ShmLocalRegion(final long address, final long length, final long accessKey, final MemorySegment segment,
        final ShmFile file)
    {
        this.address = address;
        this.length = length;
        this.accessKey = accessKey;
        this.segment = segment;
        this.file = file;
    }

    @Override
    public String toString()
    {
        return "SHM region 0x" + Long.toHexString(address) + " (" + length + " B, " + (null == file ? "CMA" :
            "shared file") + ")";
    }
}
