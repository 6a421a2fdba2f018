package io.ferry.tcp;

import io.ferry.spi.MemoryHandle;

/**
 * A peer's region as its metadata published it: the key to present and the span to stay inside.
 *
 * @param peer    the peer's name.
 * @param key     the access key.
 * @param address the region's address in the peer.
 * @param length  its length.
 * @param vram    whether it is device memory (its bytes are staged by the peer).
 */
record TcpRemoteRegion(String peer, long key, long address, long length, boolean vram) implements MemoryHandle
{
}
