package io.ferry.tcp;

import io.ferry.spi.MemoryHandle;

/**
 * A peer's region as its metadata published it: the key to present and the span to stay inside.
 *
 * @param peer    the peer's name.
 * @param key     the access key.
 * @param address the region's address in the peer.
 * @param length  its length.
 */
record TcpRemoteRegion(String peer, long key, long address, long length) implements MemoryHandle
{
}
