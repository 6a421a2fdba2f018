package io.ferry.spi;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;

import java.lang.foreign.MemorySegment;

/**
 * A region an agent asks a backend to register.
 *
 * @param kind      memory kind.
 * @param address   address or offset.
 * @param length    length in bytes (for "whole object" registrations, {@link io.ferry.MemoryDesc#WHOLE}).
 * @param deviceId  device id.
 * @param metaInfo  backend-specific extra information (e.g. a file path); never null, may be empty.
 * @param segment   the native segment that owns the bytes, or null when the region was given by address.
 * @param accessKey random key the agent publishes with the region; peers must present it to touch the region.
 */
public record RegionSpec(
    MemoryKind kind, long address, long length, long deviceId, byte[] metaInfo, MemorySegment segment, long accessKey)
{
    /**
     * The host memory of a DRAM region: its segment, or, for a region given by address only, a segment mapped at
     * that address (the registering caller vouches that the memory stays mapped while registered).
     *
     * @param backend the backend asking, for the error message.
     * @return the memory.
     * @throws FerryException NOT_SUPPORTED for a region that is not DRAM.
     */
    @SuppressWarnings("restricted")
    public MemorySegment dramSegment(final String backend)
    {
        if (MemoryKind.DRAM != kind)
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, backend + " moves DRAM only, not " + kind);
        }
        return null != segment ? segment : MemorySegment.ofAddress(address).reinterpret(length);
    }
}
