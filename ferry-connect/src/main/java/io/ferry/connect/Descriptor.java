package io.ferry.connect;

import io.ferry.FerryException;
import io.ferry.Region;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One contiguous span of memory to move (Dynamo's {@code Descriptor}): a native {@link MemorySegment} of host
 * memory, or an address, size and device for memory ferry does not own (GPU pointers, memory from native code).
 */
public final class Descriptor
{
    private final long address;
    private final long size;
    private final Device device;
    private final MemorySegment segment;

    private Descriptor(final long address, final long size, final Device device, final MemorySegment segment)
    {
        this.address = address;
        this.size = size;
        this.device = device;
        this.segment = segment;
    }

    /**
     * @param segment native host memory.
     * @return a descriptor of the whole segment.
     * @throws FerryException INVALID_PARAM for a heap or empty segment.
     */
    public static Descriptor of(final MemorySegment segment)
    {
        Objects.requireNonNull(segment, "segment");
        if (!segment.isNative() || 0 == segment.byteSize())
        {
            throw FerryException.invalid("a descriptor needs a non-empty native segment, got " +
                (segment.isNative() ? "an empty one" : "a heap segment"));
        }
        return new Descriptor(segment.address(), segment.byteSize(), Device.HOST, segment);
    }

    /**
     * @param address where the memory starts.
     * @param size    its length in bytes, positive.
     * @param device  where it lives.
     * @return the descriptor (the caller promises the memory stays valid while an operation uses it).
     */
    public static Descriptor of(final long address, final long size, final Device device)
    {
        Objects.requireNonNull(device, "device");
        if (size <= 0 || 0 == address)
        {
            throw FerryException.invalid("a descriptor needs a non-zero address and a positive size, got 0x" +
                Long.toHexString(address) + " + " + size);
        }
        return new Descriptor(address, size, device, null);
    }

    /**
     * @return the start address.
     */
    public long address()
    {
        return address;
    }

    /**
     * @return the length in bytes.
     */
    public long size()
    {
        return size;
    }

    /**
     * @return where the bytes live.
     */
    public Device device()
    {
        return device;
    }

    /**
     * @return the segment, or null for a descriptor made from an address.
     */
    public MemorySegment segment()
    {
        return segment;
    }

    Region region()
    {
        return null != segment ? Region.of(segment) : Region.ofAddress(address, size, device.id());
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Descriptor{0x" + Long.toHexString(address) + " + " + size + " B on " + device + "}";
    }
}
