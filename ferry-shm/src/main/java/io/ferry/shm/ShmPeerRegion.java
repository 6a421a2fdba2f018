package io.ferry.shm;

import io.ferry.spi.MemoryHandle;

/**
 * A peer's region as SHM reaches it: through a mapping of its shared memory file (made on first use), through
 * cross-memory attach, or directly when the peer is an agent of this process.
 */
final class ShmPeerRegion implements MemoryHandle
{
    /** How the bytes are reached. */
    enum Reach
    {
        /** The peer's memory file, mapped here: plain copies. */
        MAPPED,
        /** process_vm_readv / process_vm_writev. */
        CROSS_MEMORY,
        /** An agent of this process: its segment. */
        DIRECT
    }

    final ShmPeer peer;
    final long address;
    final long length;
    final long accessKey;
    final Reach reach;
    /** For DIRECT: the peer agent's own region. */
    final ShmLocalRegion direct;
    /** For MAPPED, once mapped: where the region starts in this process (0 before). */
    volatile long mappedAddress;

    ShmPeerRegion(final ShmPeer peer, final long address, final long length, final long accessKey, final Reach reach,
        final ShmLocalRegion direct)
    {
        this.peer = peer;
        this.address = address;
        this.length = length;
        this.accessKey = accessKey;
        this.reach = reach;
        this.direct = direct;
    }

    @Override
    public String toString()
    {
        return "region 0x" + Long.toHexString(address) + " (" + length + " B) of peer '" + peer.name + "'";
    }
}
