package io.ferry;

import io.ferry.internal.Span;
import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;

/**
 * A region registered with this agent: its span, its access key and each backend's handles to it.
 */
final class LocalRegion implements Span
{
    final MemoryKind kind;
    final long address;
    final long length;
    final long deviceId;
    final byte[] metaInfo;
    final MemorySegment segment;
    final long accessKey;
    /** Handle per backend slot, null where not registered. */
    final MemoryHandle[] handles;
    /** Loopback (target-side) handle per local-capable backend slot. */
    final MemoryHandle[] loopback;
    /** Public data per backend slot. */
    final byte[][] publicData;
    /** Bit per backend slot holding this region. */
    final long backendMask;
    volatile boolean live = true;

    LocalRegion(
        final MemoryKind kind,
        final MemoryDesc desc,
        final byte[] metaInfo,
        final MemorySegment segment,
        final long accessKey,
        final MemoryHandle[] handles,
        final MemoryHandle[] loopback,
        final byte[][] publicData,
        final long backendMask)
    {
        this.kind = kind;
        this.address = desc.address();
        this.length = desc.length();
        this.deviceId = desc.deviceId();
        this.metaInfo = metaInfo;
        this.segment = segment;
        this.accessKey = accessKey;
        this.handles = handles;
        this.loopback = loopback;
        this.publicData = publicData;
        this.backendMask = backendMask;
    }

    public long address()
    {
        return address;
    }

    public long length()
    {
        return length;
    }

    public long deviceId()
    {
        return deviceId;
    }

    MemoryDesc desc()
    {
        return new MemoryDesc(address, length, deviceId);
    }

    public String toString()
    {
        return kind + " region " + desc();
    }
}
