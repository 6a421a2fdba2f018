package io.ferry.spi;

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
}
