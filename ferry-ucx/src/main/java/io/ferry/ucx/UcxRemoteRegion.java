package io.ferry.ucx;

import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;

/**
 * A peer's region: its address and packed rkey from the peer's metadata. The rkey is unpacked against the peer's
 * endpoint at the first transfer that uses it, on the worker thread, and destroyed with that endpoint; a new
 * endpoint unpacks again ({@link #endpointEpoch}).
 */
final class UcxRemoteRegion implements MemoryHandle
{
    final UcxPeer peer;
    final long address;
    final long length;
    final byte[] packedRkey;
    /** The unpacked {@code ucp_rkey_h}, worker thread only. */
    MemorySegment rkey = MemorySegment.NULL;
    /** The endpoint generation {@link #rkey} was unpacked for, worker thread only. */
    long endpointEpoch = -1;

    UcxRemoteRegion(final UcxPeer peer, final long address, final long length, final byte[] packedRkey)
    {
        this.peer = peer;
        this.address = address;
        this.length = length;
        this.packedRkey = packedRkey;
    }

    public String toString()
    {
        return "UCX region 0x" + Long.toHexString(address) + "+" + length + " of peer '" + peer.name + "'";
    }
}
