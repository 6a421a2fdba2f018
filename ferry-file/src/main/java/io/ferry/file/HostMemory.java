package io.ferry.file;

import io.ferry.spi.MemoryHandle;

import java.lang.foreign.MemorySegment;

/**
 * A DRAM registration with the FILE backend: the memory side of its transfers.
 *
 * @param segment the memory.
 */
record HostMemory(MemorySegment segment) implements MemoryHandle
{
}
