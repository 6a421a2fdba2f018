package io.ferry;

/**
 * A contiguous span of memory: (address or offset, length, device id), NIXL's {@code nixlBasicDesc}.
 * <p>
 * Ordering is by device id, then address, then length. Lengths and addresses are non-negative; arithmetic never
 * overflows, so a "whole object" length of {@link #WHOLE} covers every offset.
 *
 * @param address  the start address (DRAM, VRAM) or offset (BLOCK, OBJECT, FILE).
 * @param length   the number of bytes.
 * @param deviceId the device: 0 for DRAM, the GPU index for VRAM, a volume, key or file descriptor otherwise.
 */
public record MemoryDesc(long address, long length, long deviceId) implements Comparable<MemoryDesc>
{
    /** The length that stands for "the whole object" (a zero-length BLOCK, OBJECT or FILE registration). */
    public static final long WHOLE = Long.MAX_VALUE;

    /**
     * Checks the fields.
     *
     * @throws FerryException INVALID_PARAM for a negative address or length.
     */
    public MemoryDesc
    {
        if (address < 0)
        {
            throw FerryException.invalid("descriptor address " + address + " is negative");
        }
        if (length < 0)
        {
            throw FerryException.invalid("descriptor length " + length + " is negative");
        }
    }

    /**
     * @return the first address past the end, saturating at {@link Long#MAX_VALUE}.
     */
    public long end()
    {
        final long end = address + length;
        return end < 0 ? Long.MAX_VALUE : end;
    }

    /**
     * @param other the span to test.
     * @return true when {@code other} lies wholly inside this span on the same device.
     */
    public boolean covers(final MemoryDesc other)
    {
        return covers(address, length, deviceId, other.address, other.length, other.deviceId);
    }

    /**
     * @param other the span to test.
     * @return true when the two spans share at least one byte on the same device.
     */
    public boolean overlaps(final MemoryDesc other)
    {
        if (deviceId != other.deviceId || 0 == length || 0 == other.length)
        {
            return false;
        }
        return other.address >= address ? other.address - address < length : address - other.address < other.length;
    }

    /**
     * The primitive form of {@link #covers(MemoryDesc)}, for hot paths.
     *
     * @param address  outer address.
     * @param length   outer length.
     * @param deviceId outer device.
     * @param qAddress inner address.
     * @param qLength  inner length.
     * @param qDevice  inner device.
     * @return true when the inner span lies inside the outer one on the same device.
     */
    public static boolean covers(
        final long address,
        final long length,
        final long deviceId,
        final long qAddress,
        final long qLength,
        final long qDevice)
    {
        if (deviceId != qDevice || qAddress < address)
        {
            return false;
        }
        final long offset = qAddress - address;
        return offset <= length && qLength <= length - offset;
    }

    /**
     * {@inheritDoc}
     */
    public int compareTo(final MemoryDesc other)
    {
        int c = Long.compare(deviceId, other.deviceId);
        if (0 == c)
        {
            c = Long.compare(address, other.address);
        }
        return 0 == c ? Long.compare(length, other.length) : c;
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "[0x" + Long.toHexString(address) + ", " + (WHOLE == length ? "whole" : length + " B") +
            ", dev " + deviceId + "]";
    }
}
