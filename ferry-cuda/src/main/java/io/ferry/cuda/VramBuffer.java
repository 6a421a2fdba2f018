package io.ferry.cuda;

import io.ferry.FerryException;

import java.lang.foreign.MemorySegment;

/**
 * GPU memory allocated with {@code cuMemAlloc_v2} on one device, for applications and tools without a CUDA
 * library of their own (ferry's bench and kvbench, tests); freed on {@link #close()}.
 */
public final class VramBuffer implements AutoCloseable
{
    private final int device;
    private final long address;
    private final long size;
    private boolean closed;

    private VramBuffer(final int device, final long address, final long size)
    {
        this.device = device;
        this.address = address;
        this.size = size;
    }

    /**
     * @return why VRAM cannot be allocated on this host, or null when it can.
     */
    public static String unavailableReason()
    {
        return new CudaBackendProvider().unavailableReason();
    }

    /**
     * @param device a device ordinal.
     * @param bytes  size, positive.
     * @return the buffer (contents undefined).
     * @throws FerryException NOT_SUPPORTED without a GPU; INVALID_PARAM for a device that does not exist; the
     *                        driver's error (e.g. out of memory) otherwise.
     */
    public static VramBuffer allocate(final int device, final long bytes)
    {
        final String why = unavailableReason();
        if (null != why)
        {
            throw new FerryException(io.ferry.ErrorCode.NOT_SUPPORTED, "no VRAM here: " + why);
        }
        final Contexts c = Contexts.shared();
        if (device < 0 || device >= c.deviceCount() || bytes <= 0)
        {
            throw FerryException.invalid("cannot allocate " + bytes + " B on cuda:" + device + " (this host has " +
                c.deviceCount() + " CUDA device(s))");
        }
        c.makeCurrent(device);
        return new VramBuffer(device, CudaDriver.load().memAlloc(bytes), bytes);
    }

    /**
     * @return the device pointer.
     */
    public long address()
    {
        return address;
    }

    /**
     * @return the size in bytes.
     */
    public long size()
    {
        return size;
    }

    /**
     * @return the device ordinal.
     */
    public int device()
    {
        return device;
    }

    /**
     * Copies host bytes into the buffer and returns when they are there.
     *
     * @param src    host memory (all of it is copied).
     * @param offset where in the buffer.
     */
    public void copyFrom(final MemorySegment src, final long offset)
    {
        check(offset, src.byteSize());
        Contexts.shared().makeCurrent(device);
        CudaDriver.load().memcpy(address + offset, src.address(), src.byteSize());
    }

    /**
     * Copies bytes of the buffer to host memory and returns when they are there.
     *
     * @param dst    host memory (filled entirely).
     * @param offset where in the buffer.
     */
    public void copyTo(final MemorySegment dst, final long offset)
    {
        check(offset, dst.byteSize());
        Contexts.shared().makeCurrent(device);
        CudaDriver.load().memcpy(dst.address(), address + offset, dst.byteSize());
    }

    private void check(final long offset, final long length)
    {
        if (closed || offset < 0 || length < 0 || offset + length > size)
        {
            throw FerryException.invalid((closed ? "closed " : "") + "VRAM buffer of " + size + " B: [" + offset +
                ", +" + length + ") is out of range");
        }
    }

    /**
     * Frees the memory. Idempotent.
     */
    public void close()
    {
        if (!closed)
        {
            closed = true;
            Contexts.shared().makeCurrent(device);
            CudaDriver.load().memFree(address);
        }
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "VramBuffer{cuda:" + device + ", 0x" + Long.toHexString(address) + ", " + size + " B}";
    }
}
