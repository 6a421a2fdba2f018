package io.ferry;

import java.util.Locale;

/**
 * The kinds of memory a descriptor can name, as in NIXL ({@code DRAM_SEG, VRAM_SEG, BLK_SEG, OBJ_SEG, FILE_SEG}).
 * <p>
 * What a descriptor's fields mean depends on the kind: for DRAM and VRAM the address is a virtual address and the
 * device id is 0 (DRAM) or the GPU index (VRAM); for BLOCK, OBJECT and FILE the address is an offset, the device id
 * names the volume, object key or file descriptor, and a zero length registration means "the whole object".
 */
public enum MemoryKind
{
    /** Host memory. */
    DRAM,
    /** GPU memory. */
    VRAM,
    /** A block device volume. */
    BLOCK,
    /** An object in an object store. */
    OBJECT,
    /** A file. */
    FILE;

    /**
     * @return true for kinds whose zero-length registrations mean "the whole object" (BLOCK, OBJECT, FILE).
     */
    public boolean zeroLengthMeansWhole()
    {
        return this == BLOCK || this == OBJECT || this == FILE;
    }

    /**
     * Parses a kind name, case-insensitively; accepts NIXL's aliases {@code OBJ}, {@code BLK}, {@code cpu} and
     * {@code cuda}.
     *
     * @param name the kind's name.
     * @return the kind.
     * @throws FerryException INVALID_PARAM naming the unknown kind.
     */
    public static MemoryKind parse(final String name)
    {
        if (null == name)
        {
            throw FerryException.invalid("memory kind is null");
        }
        return switch (name.trim().toUpperCase(Locale.ROOT))
        {
            case "DRAM", "CPU" -> DRAM;
            case "VRAM", "CUDA" -> VRAM;
            case "BLOCK", "BLK" -> BLOCK;
            case "OBJECT", "OBJ" -> OBJECT;
            case "FILE" -> FILE;
            default -> throw FerryException.invalid(
                "unknown memory kind '" + name + "' (expected one of DRAM, VRAM, BLOCK, OBJECT, FILE)");
        };
    }
}
