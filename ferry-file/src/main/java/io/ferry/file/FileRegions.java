package io.ferry.file;

import io.ferry.FerryException;
import io.ferry.Region;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Builds the FILE regions an agent registers. A FILE region's address is an offset in the file, its length the
 * bytes from there (0: the whole file, however long it grows), and its device id names the file in descriptors —
 * any number the application picks for a path, or the descriptor itself for a file the application opened.
 * <pre>{@code
 * agent.register(MemoryKind.FILE, List.of(FileRegions.of(Path.of("/nvme/kv.bin"), 7, FileAccess.READ_WRITE)));
 * DescList file = DescList.builder(MemoryKind.FILE).add(offset, length, 7).build();
 * agent.createTransfer(TransferOp.WRITE, memory, file, agent.name(), TransferOptions.NONE);   // offload
 * }</pre>
 */
public final class FileRegions
{
    private static final String PREFIX = "ferry-file/1 ";

    /** How the backend opens a file. */
    public enum FileAccess
    {
        /** READs only: WRITEs to it are refused at the request. */
        READ_ONLY,
        /** READs and WRITEs; the file must exist. */
        READ_WRITE,
        /** READs and WRITEs; the file is made (mode 0600) when missing. */
        CREATE
    }

    /** What a WRITE to the file waits for before DONE. */
    public enum FileSync
    {
        /** DONE when the kernel has the bytes (they reach the device later). */
        NONE,
        /** DONE after {@code fdatasync}: the bytes and the size are on the device. */
        FDATASYNC,
        /** DONE after {@code fsync}: the bytes and every attribute are on the device. */
        FSYNC
    }

    private FileRegions()
    {
    }

    /**
     * @param path   the file.
     * @param fileId the device id that names it in descriptors.
     * @param access how to open it.
     * @return the whole file as a region.
     */
    public static Region of(final Path path, final long fileId, final FileAccess access)
    {
        return of(path, fileId, 0, 0, access, FileSync.NONE);
    }

    /**
     * @param path   the file.
     * @param fileId the device id that names it in descriptors.
     * @param offset where the region starts in the file.
     * @param length its length, 0 for everything from {@code offset} on.
     * @param access how to open it.
     * @param sync   what WRITEs wait for.
     * @return the region.
     */
    public static Region of(final Path path, final long fileId, final long offset, final long length,
        final FileAccess access, final FileSync sync)
    {
        if (offset < 0 || length < 0)
        {
            throw FerryException.invalid("a FILE region of " + path + " needs offset and length >= 0, got " + offset +
                " and " + length);
        }
        final String text = PREFIX + access + " " + sync + "\n" + path.toAbsolutePath();
        return Region.ofAddress(offset, length, fileId).withMetaInfo(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A file the application opened: the backend neither opens nor closes it, and opens it a second time through
     * {@code /proc/self/fd} for {@code O_DIRECT}.
     *
     * @param fd     the open descriptor (also the device id that names it in descriptors).
     * @param offset where the region starts in the file.
     * @param length its length, 0 for everything from {@code offset} on.
     * @return the region.
     */
    public static Region ofDescriptor(final int fd, final long offset, final long length)
    {
        if (fd < 0 || offset < 0 || length < 0)
        {
            throw FerryException.invalid("a FILE region needs a descriptor, offset and length >= 0, got " + fd + ", " +
                offset + " and " + length);
        }
        return Region.ofAddress(offset, length, fd);
    }

    /** What a registration asks for; path null for a descriptor the application owns. */
    record Spec(String path, FileAccess access, FileSync sync)
    {
        static Spec decode(final byte[] metaInfo, final long deviceId)
        {
            if (0 == metaInfo.length)
            {
                return new Spec(null, FileAccess.READ_WRITE, FileSync.NONE);
            }
            final String text = new String(metaInfo, StandardCharsets.UTF_8);
            final int nl = text.indexOf('\n');
            final String[] head = text.startsWith(PREFIX) && nl > 0 ? text.substring(PREFIX.length(), nl).split(" ") :
                new String[0];
            try
            {
                if (2 != head.length || nl + 1 >= text.length())
                {
                    throw new IllegalArgumentException("not made by FileRegions");
                }
                return new Spec(text.substring(nl + 1), FileAccess.valueOf(head[0]), FileSync.valueOf(head[1]));
            }
            catch (final IllegalArgumentException ex)
            {
                throw FerryException.invalid("FILE region " + deviceId + ": its meta info is not a FileRegions spec " +
                    "(" + ex.getMessage() + "); build FILE regions with FileRegions.of");
            }
        }
    }
}
