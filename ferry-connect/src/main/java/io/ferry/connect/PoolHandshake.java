package io.ferry.connect;

import io.ferry.FerryException;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * What two {@link BlockPool}s exchange before moving blocks (vLLM's NIXL handshake, versioned and checked): the
 * owner's agent name and metadata, its layout, the base address of every region, and the layout's compatibility
 * hash.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                        magic "FKVP"                           |
 * +-------------------------------+-------------------------------+
 * |         version (1)           |          flags (0)            |
 * +-------------------------------+-------------------------------+
 * |                 compatibility hash (u64)                      |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                      region count (u32)                       |
 * +---------------------------------------------------------------+
 * |                      block count (u32)                        |
 * +---------------------------------------------------------------+
 * |                      block bytes (u64)                        |
 * |                                                               |
 * +-------------------------------+-------------------------------+
 * |       tag length (u16)        |   tag (UTF-8) ...             |
 * +-------------------------------+-------------------------------+
 * |   agent name length (u16)     |   agent name (UTF-8) ...      |
 * +-------------------------------+-------------------------------+
 * |                agent metadata length (u32)                    |
 * +---------------------------------------------------------------+
 * |                agent metadata ...                             |
 * +---------------------------------------------------------------+
 * |        region base addresses: region count x u64              |
 * +---------------------------------------------------------------+
 * |             CRC32C of every byte before (u32)                 |
 * +---------------------------------------------------------------+
 * </pre>
 * All integers big-endian. Every length is checked against what remains before anything is allocated.
 *
 * @param agent         the pool owner's agent name.
 * @param agentMetadata its agent metadata (for the pool's regions, with connection information).
 * @param layout        the pool's layout.
 * @param bases         the base address of each region.
 * @param hash          the compatibility hash the owner computed.
 */
public record PoolHandshake(String agent, byte[] agentMetadata, BlockLayout layout, long[] bases, long hash)
{
    /** The format version written and read. */
    public static final int VERSION = 1;
    private static final int MAGIC = 0x464B5650;
    private static final int MAX_METADATA = 256 << 20;

    /**
     * @return the encoded handshake.
     */
    public byte[] encode()
    {
        final byte[] tag = layout.tag().getBytes(StandardCharsets.UTF_8);
        final byte[] name = agent.getBytes(StandardCharsets.UTF_8);
        final ByteBuffer b = ByteBuffer.allocate(4 + 4 + 8 + 4 + 4 + 8 + 2 + tag.length + 2 + name.length + 4 +
            agentMetadata.length + 8 * bases.length + 4);
        b.putInt(MAGIC).putShort((short)VERSION).putShort((short)0).putLong(hash);
        b.putInt(layout.regions()).putInt(layout.blockCount()).putLong(layout.blockBytes());
        b.putShort((short)tag.length).put(tag).putShort((short)name.length).put(name);
        b.putInt(agentMetadata.length).put(agentMetadata);
        for (final long base : bases)
        {
            b.putLong(base);
        }
        final CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int)crc.getValue());
        return b.array();
    }

    /**
     * @param bytes an encoded handshake.
     * @return the handshake.
     * @throws FerryException INVALID_PARAM naming what is wrong (magic, version, checksum, a length).
     */
    public static PoolHandshake decode(final byte[] bytes)
    {
        if (bytes.length < 44)
        {
            throw FerryException.invalid("pool handshake of " + bytes.length + " bytes is too short");
        }
        final ByteBuffer b = ByteBuffer.wrap(bytes);
        if (MAGIC != b.getInt())
        {
            throw FerryException.invalid("not a ferry pool handshake (bad magic)");
        }
        final int version = b.getShort() & 0xFFFF;
        if (VERSION != version)
        {
            throw FerryException.invalid("pool handshake version " + version + " is not supported (this ferry " +
                "speaks version " + VERSION + ")");
        }
        final CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int)crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt())
        {
            throw FerryException.invalid("pool handshake checksum mismatch (corrupted or truncated)");
        }
        try
        {
            b.getShort();
            final long hash = b.getLong();
            final int regions = b.getInt();
            final int blockCount = b.getInt();
            final long blockBytes = b.getLong();
            final String tag = string(b, "tag");
            final String agent = string(b, "agent name");
            final int mdLength = b.getInt();
            if (mdLength < 0 || mdLength > MAX_METADATA || mdLength > b.remaining() - 4)
            {
                throw FerryException.invalid("pool handshake agent metadata length " + mdLength + " exceeds the " +
                    (b.remaining() - 4) + " bytes left");
            }
            final byte[] md = new byte[mdLength];
            b.get(md);
            if (regions <= 0 || (long)regions * 8 != b.remaining() - 4)
            {
                throw FerryException.invalid("pool handshake has " + (b.remaining() - 4) + " bytes of base " +
                    "addresses for " + regions + " regions");
            }
            final long[] bases = new long[regions];
            for (int i = 0; i < regions; i++)
            {
                bases[i] = b.getLong();
            }
            return new PoolHandshake(agent, md, new BlockLayout(tag, regions, blockCount, blockBytes), bases, hash);
        }
        catch (final BufferUnderflowException ex)
        {
            throw FerryException.invalid("pool handshake is truncated");
        }
    }

    private static String string(final ByteBuffer b, final String what)
    {
        final int n = b.getShort() & 0xFFFF;
        if (n > b.remaining() - 4)
        {
            throw FerryException.invalid("pool handshake " + what + " length " + n + " exceeds the message");
        }
        final String s = new String(b.array(), b.position(), n, StandardCharsets.UTF_8);
        b.position(b.position() + n);
        return s;
    }

    /**
     * Checks that a peer's pool can exchange blocks with one of this layout.
     *
     * @param ours this side's layout.
     * @throws FerryException MISMATCH naming every field that differs.
     */
    public void checkCompatibleWith(final BlockLayout ours)
    {
        final StringBuilder why = new StringBuilder();
        if (!layout.tag().equals(ours.tag()))
        {
            why.append("; tag '").append(layout.tag()).append("' vs ours '").append(ours.tag()).append('\'');
        }
        if (layout.regions() != ours.regions())
        {
            why.append("; ").append(layout.regions()).append(" regions vs our ").append(ours.regions());
        }
        if (layout.blockBytes() != ours.blockBytes())
        {
            why.append("; block size ").append(layout.blockBytes()).append(" B vs our ").append(ours.blockBytes())
                .append(" B");
        }
        if (0 == why.length() && hash != ours.compatibilityHash())
        {
            why.append("; compatibility hash ").append(Long.toHexString(hash)).append(" vs our ")
                .append(Long.toHexString(ours.compatibilityHash())).append(" (another hash version?)");
        }
        if (0 != why.length())
        {
            throw new FerryException(io.ferry.ErrorCode.MISMATCH, "peer " + agent + "'s block pool does not match " +
                "ours: " + why.substring(2));
        }
    }
}
