package io.ferry.local;

import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;

/**
 * A region registered with a LOCAL backend. The same object serves as the remote handle that an in-process peer
 * loads from metadata, so a deregistration is seen by every peer at once.
 */
final class LocalMemory implements MemoryHandle
{
    final LocalBackend owner;
    final long accessKey;
    final MemorySegment segment;
    final long address;
    final long length;
    volatile boolean live = true;

    LocalMemory(
        final LocalBackend owner, final long accessKey, final MemorySegment segment, final long address,
        final long length)
    {
        this.owner = owner;
        this.accessKey = accessKey;
        this.segment = segment;
        this.address = address;
        this.length = length;
    }

    public String toString()
    {
        return "DRAM region [0x" + Long.toHexString(address) + ", " + length + " B] of agent '" +
            owner.agentName() + "'";
    }
}
