package io.ferry.cli;

import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.cuda.VramBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Memory the tools move: host memory, or VRAM (through ferry-cuda) with a host mirror for filling and checking.
 */
final class BenchMemory implements AutoCloseable
{
    private final MemoryKind kind;
    private final MemorySegment host;
    private final VramBuffer vram;

    private BenchMemory(final MemoryKind kind, final MemorySegment host, final VramBuffer vram)
    {
        this.kind = kind;
        this.host = host;
        this.vram = vram;
    }

    /**
     * @param kind  DRAM or VRAM (on device 0).
     * @param bytes size.
     * @param arena where the host memory comes from.
     * @return the memory.
     */
    static BenchMemory allocate(final MemoryKind kind, final long bytes, final Arena arena)
    {
        final MemorySegment host = arena.allocate(bytes, 4096);
        return MemoryKind.VRAM == kind ? new BenchMemory(kind, host, VramBuffer.allocate(0, bytes)) :
            new BenchMemory(MemoryKind.DRAM, host, null);
    }

    /**
     * @param segType a tool's segment type flag value.
     * @return its memory kind, or null when it is neither DRAM nor VRAM.
     */
    static MemoryKind kindOf(final String segType)
    {
        return switch (segType.toUpperCase(java.util.Locale.ROOT))
        {
            case "DRAM" -> MemoryKind.DRAM;
            case "VRAM" -> MemoryKind.VRAM;
            default -> null;
        };
    }

    /**
     * @param segTypes the tool's segment type flags.
     * @return null when they can be served here, else what is wrong.
     */
    static String problem(final String... segTypes)
    {
        for (final String s : segTypes)
        {
            final MemoryKind k = kindOf(s);
            if (null == k)
            {
                return "segment type must be DRAM or VRAM, got '" + s + "'";
            }
            if (MemoryKind.VRAM == k && null != VramBuffer.unavailableReason())
            {
                return "VRAM needs a CUDA GPU, and this host has none usable: " + VramBuffer.unavailableReason();
            }
        }
        return null;
    }

    MemoryKind kind()
    {
        return kind;
    }

    long address()
    {
        return null != vram ? vram.address() : host.address();
    }

    Region region()
    {
        return null != vram ? Region.ofAddress(vram.address(), vram.size(), vram.device()) : Region.of(host);
    }

    Region region(final long offset, final long length)
    {
        return null != vram ? Region.ofAddress(vram.address() + offset, length, vram.device()) :
            Region.of(host.asSlice(offset, length));
    }

    /** The host side: write here, then {@link #upload()}. */
    MemorySegment host()
    {
        return host;
    }

    /** After writing {@link #host()}: the bytes go to the device (VRAM only). */
    void upload()
    {
        if (null != vram)
        {
            vram.copyFrom(host, 0);
        }
    }

    /** @return the current contents, downloaded first for VRAM. */
    MemorySegment contents()
    {
        if (null != vram)
        {
            vram.copyTo(host, 0);
        }
        return host;
    }

    public void close()
    {
        if (null != vram)
        {
            vram.close();
        }
    }
}
