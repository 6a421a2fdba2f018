package io.ferry.connect;

import io.ferry.FerryException;
import io.ferry.MemoryKind;

import java.util.Objects;

/**
 * Where a descriptor's bytes live: host memory or a CUDA device (Dynamo's {@code Device}).
 *
 * @param kind host or CUDA.
 * @param id   the device ordinal (0 for host memory).
 */
public record Device(Kind kind, int id)
{
    /** Host memory (DRAM). */
    public static final Device HOST = new Device(Kind.HOST, 0);

    /** The kinds of device. */
    public enum Kind
    {
        /** Host memory. */
        HOST,
        /** CUDA device memory. */
        CUDA
    }

    /**
     * @param kind host or CUDA.
     * @param id   the device ordinal, 0 or more; 0 for host memory.
     */
    public Device
    {
        Objects.requireNonNull(kind, "kind");
        if (id < 0 || (Kind.HOST == kind && 0 != id))
        {
            throw FerryException.invalid("device id must be 0 or more (and 0 for host memory), got " + kind + ":" + id);
        }
    }

    /**
     * @param id the CUDA device ordinal.
     * @return that CUDA device.
     */
    public static Device cuda(final int id)
    {
        return new Device(Kind.CUDA, id);
    }

    /**
     * @return the agent's memory kind for this device.
     */
    public MemoryKind memoryKind()
    {
        return Kind.HOST == kind ? MemoryKind.DRAM : MemoryKind.VRAM;
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return Kind.HOST == kind ? "host" : "cuda:" + id;
    }
}
