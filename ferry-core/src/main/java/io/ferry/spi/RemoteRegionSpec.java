package io.ferry.spi;

import io.ferry.MemoryKind;

/**
 * A peer's region as its metadata describes it, handed to a backend to turn into a {@link MemoryHandle}.
 *
 * @param peer       the peer agent's name.
 * @param kind       memory kind.
 * @param address    address or offset in the peer.
 * @param length     length in bytes.
 * @param deviceId   device id in the peer.
 * @param metaInfo   extra information the peer registered with.
 * @param accessKey  the key the peer published for the region.
 * @param publicData what the peer's backend of the same name published for the region.
 */
public record RemoteRegionSpec(
    String peer, MemoryKind kind, long address, long length, long deviceId, byte[] metaInfo, long accessKey,
    byte[] publicData)
{
}
