package io.ferry.ucx;

import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;

/**
 * A region this agent registered with UCX: its {@code ucp_mem_h} and the packed rkey peers use to reach it.
 * The memory handle is read and released on the worker thread only.
 */
final class UcxLocalRegion implements MemoryHandle
{
    final long address;
    final long length;
    final MemorySegment memh;
    final byte[] rkey;

    UcxLocalRegion(final long address, final long length, final MemorySegment memh, final byte[] rkey)
    {
        this.address = address;
        this.length = length;
        this.memh = memh;
        this.rkey = rkey;
    }

    public String toString()
    {
        return "UCX region 0x" + Long.toHexString(address) + "+" + length;
    }
}
