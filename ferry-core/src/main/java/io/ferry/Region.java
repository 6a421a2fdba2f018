package io.ferry;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * One contiguous span to register with an agent (NIXL's {@code nixlBlobDesc}): where it is, plus extra information
 * for the backend (a file path, an object key) and, for host memory, the {@link MemorySegment} that owns the bytes.
 * <p>
 * Registering the segment itself (rather than a raw address) lets backends copy with bounds and liveness checks:
 * memory whose arena was closed is refused, never touched.
 */
public final class Region
{
    private static final byte[] NO_INFO = new byte[0];

    private final MemoryDesc desc;
    private final byte[] metaInfo;
    private final MemorySegment segment;

    private Region(final MemoryDesc desc, final byte[] metaInfo, final MemorySegment segment)
    {
        this.desc = desc;
        this.metaInfo = metaInfo;
        this.segment = segment;
    }

    /**
     * A host memory region backed by a native segment (from an {@link java.lang.foreign.Arena} or a mapped file).
     *
     * @param segment the native memory.
     * @return the region.
     * @throws FerryException INVALID_PARAM for a heap segment or an empty one.
     */
    public static Region of(final MemorySegment segment)
    {
        Objects.requireNonNull(segment, "segment");
        if (!segment.isNative())
        {
            throw FerryException.invalid("a region must be native memory (Arena.allocate or a mapped file); " +
                "got a heap segment of " + segment.byteSize() + " B");
        }
        if (0 == segment.byteSize())
        {
            throw FerryException.invalid("a DRAM region must not be empty (segment at 0x" +
                Long.toHexString(segment.address()) + ")");
        }
        return new Region(new MemoryDesc(segment.address(), segment.byteSize(), 0), NO_INFO, segment);
    }

    /**
     * A region named by address (or offset), length and device, with no segment: GPU pointers, file offsets, or
     * host memory owned by native code (the caller promises it stays mapped while registered).
     *
     * @param address  the address or offset.
     * @param length   the length in bytes.
     * @param deviceId the device id.
     * @return the region.
     */
    public static Region ofAddress(final long address, final long length, final long deviceId)
    {
        return new Region(new MemoryDesc(address, length, deviceId), NO_INFO, null);
    }

    /**
     * @param info backend-specific extra information (e.g. a file path), copied.
     * @return a region like this one with the given extra information.
     */
    public Region withMetaInfo(final byte[] info)
    {
        return new Region(desc, null == info ? NO_INFO : info.clone(), segment);
    }

    /**
     * @return the span.
     */
    public MemoryDesc desc()
    {
        return desc;
    }

    /**
     * @return the start address.
     */
    public long address()
    {
        return desc.address();
    }

    /**
     * @return the length in bytes.
     */
    public long length()
    {
        return desc.length();
    }

    /**
     * @return the device id.
     */
    public long deviceId()
    {
        return desc.deviceId();
    }

    /**
     * @return a copy of the extra information (empty when none).
     */
    public byte[] metaInfo()
    {
        return metaInfo.clone();
    }

    byte[] metaInfoUnsafe()
    {
        return metaInfo;
    }

    /**
     * @return the segment that owns the bytes, or null for a region given by address only.
     */
    public MemorySegment segment()
    {
        return segment;
    }

    /**
     * The span as stored for the given kind: a zero-length BLOCK, OBJECT or FILE region means the whole object.
     *
     * @param kind the memory kind it is registered as.
     * @return the normalised span.
     */
    public MemoryDesc normalizedDesc(final MemoryKind kind)
    {
        return kind.zeroLengthMeansWhole() && 0 == desc.length() ?
            new MemoryDesc(desc.address(), MemoryDesc.WHOLE, desc.deviceId()) : desc;
    }

    /**
     * {@inheritDoc}
     */
    public boolean equals(final Object o)
    {
        return o instanceof Region r && desc.equals(r.desc) && Arrays.equals(metaInfo, r.metaInfo);
    }

    /**
     * {@inheritDoc}
     */
    public int hashCode()
    {
        return desc.hashCode() * 31 + Arrays.hashCode(metaInfo);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Region" + desc + (0 == metaInfo.length ? "" : " info " + metaInfo.length + " B");
    }
}
