package io.ferry.cuda;

import org.junit.jupiter.api.Assumptions;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/**
 * GPU helpers for tests and benchmarks: skip (with the reason) where there is no usable CUDA driver and device;
 * allocate, upload, download with the driver directly.
 */
public final class Gpu
{

    private Gpu()
    {
    }

    /**
     * @return the driver; aborts the calling test, saying why, when this host has none or no device.
     */
    public static synchronized CudaDriver require()
    {
        final String why = new CudaBackendProvider().unavailableReason();
        Assumptions.assumeTrue(null == why, () -> "GPU test skipped: " + why);
        return CudaDriver.load();
    }

    /**
     * @return how many devices there are (call {@link #require()} first).
     */
    public static int devices()
    {
        return Contexts.shared().deviceCount();
    }

    /**
     * @param device  device ordinal.
     * @param bytes   size.
     * @return a device pointer.
     */
    public static long alloc(final int device, final long bytes)
    {
        Contexts.shared().makeCurrent(device);
        return CudaDriver.load().memAlloc(bytes);
    }

    /**
     * @param device  device ordinal.
     * @param pointer what {@link #alloc} returned.
     */
    public static void free(final int device, final long pointer)
    {
        Contexts.shared().makeCurrent(device);
        CudaDriver.load().memFree(pointer);
    }

    /**
     * @param device the device of {@code dst}.
     * @param dst    device pointer.
     * @param src    host bytes.
     */
    public static void upload(final int device, final long dst, final MemorySegment src)
    {
        Contexts.shared().makeCurrent(device);
        CudaDriver.load().memcpy(dst, src.address(), src.byteSize());
    }

    /**
     * @param device the device of {@code src}.
     * @param dst    host bytes (its size is copied).
     * @param src    device pointer.
     */
    public static void download(final int device, final MemorySegment dst, final long src)
    {
        Contexts.shared().makeCurrent(device);
        CudaDriver.load().memcpy(dst.address(), src, dst.byteSize());
    }

    /**
     * @param s bytes.
     * @return their CRC32C.
     */
    public static long crc(final MemorySegment s)
    {
        final CRC32C c = new CRC32C();
        c.update(s.asByteBuffer());
        return c.getValue();
    }
}
