package io.ferry.metadata;

import io.ferry.MemoryKind;

import java.util.Arrays;
import java.util.Objects;

/**
 * One region as published by one backend of an agent.
 *
 * @param backend    the backend's name.
 * @param kind       memory kind.
 * @param address    address or offset.
 * @param length     length in bytes.
 * @param deviceId   device id.
 * @param accessKey  the key peers must present to touch the region.
 * @param metaInfo   extra information registered with the region (never null).
 * @param publicData what the backend publishes for the region (never null).
 */
public record RegionRecord(
    String backend, MemoryKind kind, long address, long length, long deviceId, long accessKey, byte[] metaInfo,
    byte[] publicData)
{
    /**
     * Checks for nulls.
     */
    public RegionRecord
    {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(metaInfo, "metaInfo");
        Objects.requireNonNull(publicData, "publicData");
    }

    /**
     * @param other another record.
     * @return true when both name the same span of the same kind (whatever their keys and data).
     */
    public boolean sameSpan(final RegionRecord other)
    {
        return kind == other.kind && address == other.address && length == other.length &&
            deviceId == other.deviceId;
    }

    /**
     * {@inheritDoc}
     */
    public boolean equals(final Object o)
    {
        return o instanceof RegionRecord r && backend.equals(r.backend) && sameSpan(r) && accessKey == r.accessKey &&
            Arrays.equals(metaInfo, r.metaInfo) && Arrays.equals(publicData, r.publicData);
    }

    /**
     * {@inheritDoc}
     */
    public int hashCode()
    {
        return Objects.hash(backend, kind, address, length, deviceId, accessKey) * 31 + Arrays.hashCode(publicData);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return backend + ":" + kind + "[0x" + Long.toHexString(address) + ", " + length + " B, dev " + deviceId + "]";
    }
}
