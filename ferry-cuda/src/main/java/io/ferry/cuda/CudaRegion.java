package io.ferry.cuda;

import io.ferry.MemoryKind;
import io.ferry.spi.MemoryHandle;

/**
 * A region registered with the CUDA backend: VRAM on a device (with the IPC handle of its allocation, for peers on
 * this host) or host memory (pinned when the backend pins).
 */
final class CudaRegion implements MemoryHandle
{
    final MemoryKind kind;
    final long address;
    final long length;
    /** The device ordinal for VRAM; -1 for host memory. */
    final int device;
    /** The IPC handle of the allocation holding a VRAM region, or null. */
    final byte[] ipcHandle;
    /** The region's offset from its allocation's base. */
    final long allocationOffset;
    final boolean pinned;

    CudaRegion(final MemoryKind kind, final long address, final long length, final int device, final byte[] ipcHandle,
        final long allocationOffset, final boolean pinned)
    {
        this.kind = kind;
        this.address = address;
        this.length = length;
        this.device = device;
        this.ipcHandle = ipcHandle;
        this.allocationOffset = allocationOffset;
        this.pinned = pinned;
    }

    public String toString()
    {
        return kind + "[0x" + Long.toHexString(address) + ", " + length + " B" + (device >= 0 ? ", cuda:" + device : "") +
            "]";
    }
}
