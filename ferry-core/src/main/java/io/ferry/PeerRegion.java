package io.ferry;

import io.ferry.internal.Span;
import io.ferry.spi.MemoryHandle;

/**
 * A peer's published region with the handles each of our backends made from it.
 */
final class PeerRegion implements Span
{
    final MemoryKind kind;
    final long address;
    final long length;
    final long deviceId;
    final byte[] metaInfo;
    final long accessKey;
    final MemoryHandle[] handles;
    final byte[][] publicData;
    final long backendMask;

    PeerRegion(
        final MemoryKind kind,
        final long address,
        final long length,
        final long deviceId,
        final byte[] metaInfo,
        final long accessKey,
        final MemoryHandle[] handles,
        final byte[][] publicData,
        final long backendMask)
    {
        this.kind = kind;
        this.address = address;
        this.length = length;
        this.deviceId = deviceId;
        this.metaInfo = metaInfo;
        this.accessKey = accessKey;
        this.handles = handles;
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

    public String toString()
    {
        return kind + " region " + new MemoryDesc(address, length, deviceId);
    }
}
