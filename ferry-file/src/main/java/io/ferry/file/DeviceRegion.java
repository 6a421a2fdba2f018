package io.ferry.file;

import io.ferry.spi.MemoryHandle;

/**
 * A VRAM registration with the FILE backend: its bytes go through a pinned host buffer of the CUDA backend's
 * ({@link io.ferry.spi.DeviceMemory.Staging}) on their way to or from a file.
 *
 * @param address the device address.
 * @param device  the device id.
 */
record DeviceRegion(long address, long device) implements MemoryHandle
{
}
