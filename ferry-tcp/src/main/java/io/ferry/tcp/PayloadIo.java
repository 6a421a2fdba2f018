package io.ferry.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The one place payload bytes move between a socket and registered memory, for both sides (an initiator's WRITE
 * and READ_DATA, a target's WRITE and READ reply). The memory is a frame's {@link ViewCache} views; the frame
 * layout is {@link Frames}': a prefix, the payload, zero padding to the next 64-byte unit.
 * <p>
 * Host memory moves with one gathering or scattering system call per frame, straight from or into the registered
 * segments. Device memory goes through pinned host memory: when the whole payload is staged and no CRC32C is asked
 * for, the device copies overlap the socket I/O ({@link StagedPipeline}); otherwise the staging copy is done first
 * (sending) or after (receiving, once the CRC32C passed).
 */
final class PayloadIo
{
    /** Offset of the CRC32C field in a WRITE's or a reply's prefix. */
    static final int CRC_AT = Frames.HEADER_LENGTH + 4;

    private PayloadIo()
    {
    }

    /**
     * Sends a frame: its prefix, then the payload from {@code views}, then its padding.
     *
     * @param prefix  the frame's prefix, written up to its position (not flipped); with {@code crc}, the checksum of
     *                the payload is put at {@link #CRC_AT}.
     * @param views   the payload's views, filled from slot 1 (slot 0 and slot iov + 1 are this method's).
     * @param iov     how many views hold the payload.
     * @param bytes   payload bytes (0: the prefix alone).
     * @param crc     whether to checksum the payload.
     * @param pad     a zeroed buffer of {@link Frames#ALIGN} bytes.
     * @param pair    two slots for the pipelined send.
     */
    static void send(final SocketChannel channel, final ByteBuffer prefix, final ViewCache views, final int iov,
        final long bytes, final boolean crc, final ByteBuffer pad, final ByteBuffer[] pair) throws IOException
    {
        if (!crc && views.wholeFrameStaged(bytes))
        {
            prefix.flip();
            StagedPipeline.write(channel, prefix, views, bytes, pair); // device copies overlap the send
            BlockingSocketIo.writeFully(channel, Frames.tailPadding(pad, bytes));
            return;
        }
        if (views.staged())
        {
            views.stageToHost(); // device pieces: copied to pinned host memory, then sent from there
        }
        if (crc)
        {
            prefix.putInt(CRC_AT, views.checksum(iov));
        }
        prefix.flip();
        views.iov[0] = prefix;
        views.iov[iov + 1] = Frames.tailPadding(pad, bytes);
        BlockingSocketIo.writeFully(channel, views.iov, iov + 2);
    }

    /**
     * Receives a payload and its padding into {@code views}.
     *
     * @param views       the payload's views, filled from slot 1 (slot iov + 1 is this method's).
     * @param iov         how many views hold the payload.
     * @param bytes       payload bytes.
     * @param crc         whether the sender checksummed it.
     * @param expectedCrc the sender's checksum.
     * @param pad         a buffer of {@link Frames#ALIGN} bytes for the padding.
     * @return false when the payload failed its CRC32C (device memory is then left untouched).
     * @throws IllegalStateException when the memory behind a view was freed meanwhile.
     */
    static boolean receive(final SocketChannel channel, final ViewCache views, final int iov, final long bytes,
        final boolean crc, final int expectedCrc, final ByteBuffer pad) throws IOException
    {
        if (!crc && views.wholeFrameStaged(bytes))
        {
            StagedPipeline.read(channel, views, bytes); // device copies overlap the reads
            BlockingSocketIo.readFully(channel, Frames.tailPadding(pad, bytes));
            return true;
        }
        views.iov[iov + 1] = Frames.tailPadding(pad, bytes);
        BlockingSocketIo.readFully(channel, views.iov, 1, iov + 1, Frames.aligned(bytes));
        if (crc && views.checksum(iov) != expectedCrc)
        {
            return false;
        }
        if (views.staged())
        {
            views.stageToDevice(); // device pieces landed in pinned host memory: now into place
        }
        return true;
    }
}
