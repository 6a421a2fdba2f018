package io.ferry.metadata;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes {@link AgentMetadata}. All integers are big-endian.
 * <pre>
 * Header (16 bytes)
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                    magic 'FRMD' (0x46524D44)                  |
 * +---------------+---------------+-------------------------------+
 * |  version (1)  |  reserved (0) |          reserved (0)         |
 * +---------------+---------------+-------------------------------+
 * |                    body length (bytes after header)           |
 * +---------------------------------------------------------------+
 * |                         CRC32C of the body                    |
 * +---------------------------------------------------------------+
 * Body
 * +-------------------------------+-------------------------------+
 * |      name length (u16)        |  agent name, UTF-8          ...
 * +---------------+---------------+-------------------------------+
 * | backend count |  count x { name length u8, name ASCII }     ...
 * +---------------+-----------------------------------------------+
 * | conn count    |  count x { backend index u8, info length u32, info bytes } ...
 * +---------------+-----------------------------------------------+
 * |                      region count (u32)                       |
 * +---------------------------------------------------------------+
 * | count x region:                                               |
 * |  backend index u8 | kind u8 | address u64 | length u64 |       |
 * |  device u64 | access key u64 | meta length u32 | meta bytes | |
 * |  public length u32 | public bytes                             |
 * +---------------------------------------------------------------+
 * </pre>
 * Decoding checks every length against the bytes that remain before allocating, so a hostile blob can neither
 * exhaust memory nor loop; any defect is reported as {@link ErrorCode#MISMATCH}.
 */
public final class MetadataCodec
{
    /** 'FRMD'. */
    public static final int MAGIC = 0x46524D44;
    /** The version this code writes and reads. */
    public static final byte VERSION = 1;
    /** Header length in bytes. */
    public static final int HEADER_LENGTH = 16;
    /** Largest blob accepted (NIXL's metadata frame limit). */
    public static final int MAX_LENGTH = 1 << 30;
    /** Largest backend name. */
    public static final int MAX_BACKEND_NAME = 64;
    /** Smallest encoded region: index, kind, four u64, two u32 lengths. */
    static final int MIN_REGION_LENGTH = 1 + 1 + 8 * 4 + 4 + 4;

    private MetadataCodec()
    {
    }

    /**
     * @param md metadata.
     * @return its binary form.
     * @throws FerryException INVALID_PARAM when it cannot be encoded (too many backends, name too long).
     */
    public static byte[] encode(final AgentMetadata md)
    {
        final List<String> backends = new ArrayList<>(md.connectionInfo().keySet());
        for (final RegionRecord r : md.regions())
        {
            if (!backends.contains(r.backend()))
            {
                backends.add(r.backend());
            }
        }
        if (backends.size() > 255)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "metadata names " + backends.size() +
                " backends, at most 255 fit");
        }
        final byte[] name = md.name().getBytes(StandardCharsets.UTF_8);
        if (name.length > 0xFFFF)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "agent name is " + name.length + " bytes long");
        }
        long size = HEADER_LENGTH + 2 + name.length + 1 + 1 + 4;
        for (final String b : backends)
        {
            size += 1 + ascii(b).length;
        }
        for (final byte[] info : md.connectionInfo().values())
        {
            size += 1 + 4 + info.length;
        }
        for (final RegionRecord r : md.regions())
        {
            size += MIN_REGION_LENGTH + r.metaInfo().length + r.publicData().length;
        }
        if (size > MAX_LENGTH)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "metadata of " + size + " bytes exceeds " + MAX_LENGTH);
        }

        final byte[] out = new byte[(int)size];
        final ByteBuffer buf = ByteBuffer.wrap(out);
        buf.position(HEADER_LENGTH);
        buf.putShort((short)name.length).put(name);
        buf.put((byte)backends.size());
        for (final String b : backends)
        {
            final byte[] a = ascii(b);
            buf.put((byte)a.length).put(a);
        }
        buf.put((byte)md.connectionInfo().size());
        for (final Map.Entry<String, byte[]> e : md.connectionInfo().entrySet())
        {
            buf.put((byte)backends.indexOf(e.getKey())).putInt(e.getValue().length).put(e.getValue());
        }
        buf.putInt(md.regions().size());
        int lastIndex = -1;
        String lastBackend = null;
        for (final RegionRecord r : md.regions())
        {
            if (!r.backend().equals(lastBackend))
            {
                lastBackend = r.backend();
                lastIndex = backends.indexOf(lastBackend);
            }
            buf.put((byte)lastIndex).put((byte)r.kind().ordinal())
                .putLong(r.address()).putLong(r.length()).putLong(r.deviceId()).putLong(r.accessKey())
                .putInt(r.metaInfo().length).put(r.metaInfo())
                .putInt(r.publicData().length).put(r.publicData());
        }
        final int bodyLength = out.length - HEADER_LENGTH;
        final CRC32C crc = new CRC32C();
        crc.update(out, HEADER_LENGTH, bodyLength);
        buf.putInt(0, MAGIC).put(4, VERSION).put(5, (byte)0).putShort(6, (short)0)
            .putInt(8, bodyLength).putInt(12, (int)crc.getValue());
        return out;
    }

    /**
     * @param bytes a blob made by {@link #encode(AgentMetadata)} (possibly by another process).
     * @return the metadata.
     * @throws FerryException MISMATCH naming the defect for anything that is not valid metadata.
     */
    public static AgentMetadata decode(final byte[] bytes)
    {
        if (null == bytes)
        {
            throw mismatch("metadata is null");
        }
        if (bytes.length < HEADER_LENGTH)
        {
            throw mismatch("metadata is " + bytes.length + " bytes, shorter than its " + HEADER_LENGTH +
                "-byte header");
        }
        if (bytes.length > MAX_LENGTH)
        {
            throw mismatch("metadata is " + bytes.length + " bytes, more than the " + MAX_LENGTH + " allowed");
        }
        try
        {
            final ByteBuffer buf = ByteBuffer.wrap(bytes);
            if (MAGIC != buf.getInt())
            {
                throw mismatch("not ferry agent metadata (bad magic 0x" + Integer.toHexString(buf.getInt(0)) + ")");
            }
            final byte version = buf.get();
            if (VERSION != version)
            {
                throw mismatch("metadata version " + version + " is not supported (this ferry reads " + VERSION +
                    ")");
            }
            buf.get();
            buf.getShort();
            final int bodyLength = buf.getInt();
            if (bodyLength != bytes.length - HEADER_LENGTH)
            {
                throw mismatch("metadata header says " + bodyLength + " body bytes but " +
                    (bytes.length - HEADER_LENGTH) + " follow");
            }
            final int expectedCrc = buf.getInt();
            final CRC32C crc = new CRC32C();
            crc.update(bytes, HEADER_LENGTH, bodyLength);
            if ((int)crc.getValue() != expectedCrc)
            {
                throw mismatch("metadata checksum does not match (corrupted in transit?)");
            }
            return decodeBody(buf);
        }
        catch (final BufferUnderflowException | IndexOutOfBoundsException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "metadata is truncated", ex);
        }
    }

    static AgentMetadata decodeBody(final ByteBuffer buf)
    {
        final int nameLength = Short.toUnsignedInt(buf.getShort());
        if (0 == nameLength)
        {
            throw mismatch("metadata has an empty agent name");
        }
        final String name = utf8(slice(buf, nameLength, "agent name"));

        final int backendCount = Byte.toUnsignedInt(buf.get());
        final String[] backends = new String[backendCount];
        for (int i = 0; i < backendCount; i++)
        {
            final int len = Byte.toUnsignedInt(buf.get());
            if (0 == len || len > MAX_BACKEND_NAME)
            {
                throw mismatch("backend name " + i + " has length " + len);
            }
            final byte[] raw = slice(buf, len, "backend name");
            for (final byte c : raw)
            {
                if (c < 0x21 || c > 0x7E)
                {
                    throw mismatch("backend name " + i + " has a non-printable byte");
                }
            }
            backends[i] = new String(raw, StandardCharsets.US_ASCII);
            for (int j = 0; j < i; j++)
            {
                if (backends[j].equals(backends[i]))
                {
                    throw mismatch("backend " + backends[i] + " is listed twice");
                }
            }
        }

        final int connCount = Byte.toUnsignedInt(buf.get());
        final Map<String, byte[]> conns = new LinkedHashMap<>();
        for (int i = 0; i < connCount; i++)
        {
            final String backend = backend(backends, buf.get(), "connection info " + i);
            final int len = buf.getInt();
            if (len < 0 || len > buf.remaining())
            {
                throw mismatch("connection info of " + backend + " claims " + len + " bytes, " + buf.remaining() +
                    " remain");
            }
            if (null != conns.put(backend, slice(buf, len, "connection info")))
            {
                throw mismatch("connection info of " + backend + " appears twice");
            }
        }

        final int regionCount = buf.getInt();
        if (regionCount < 0 || regionCount > buf.remaining() / MIN_REGION_LENGTH)
        {
            throw mismatch("metadata claims " + Integer.toUnsignedString(regionCount) + " regions but only " +
                buf.remaining() + " bytes remain");
        }
        final MemoryKind[] kinds = MemoryKind.values();
        final List<RegionRecord> regions = new ArrayList<>(regionCount);
        for (int i = 0; i < regionCount; i++)
        {
            final String backend = backend(backends, buf.get(), "region " + i);
            final int kind = Byte.toUnsignedInt(buf.get());
            if (kind >= kinds.length)
            {
                throw mismatch("region " + i + " has unknown memory kind " + kind);
            }
            final long address = buf.getLong();
            final long length = buf.getLong();
            final long device = buf.getLong();
            final long key = buf.getLong();
            if (address < 0 || length < 0)
            {
                throw mismatch("region " + i + " has a negative address or length");
            }
            final byte[] meta = slice(buf, checkedLength(buf, "meta info of region " + i), "meta info");
            final byte[] pub = slice(buf, checkedLength(buf, "public data of region " + i), "public data");
            regions.add(new RegionRecord(backend, kinds[kind], address, length, device, key, meta, pub));
        }
        if (buf.hasRemaining())
        {
            throw mismatch("metadata has " + buf.remaining() + " unexpected trailing bytes");
        }
        return new AgentMetadata(name, conns, regions);
    }

    private static int checkedLength(final ByteBuffer buf, final String what)
    {
        final int len = buf.getInt();
        if (len < 0 || len > buf.remaining())
        {
            throw mismatch(what + " claims " + Integer.toUnsignedString(len) + " bytes, " + buf.remaining() +
                " remain");
        }
        return len;
    }

    private static String backend(final String[] backends, final byte index, final String what)
    {
        final int i = Byte.toUnsignedInt(index);
        if (i >= backends.length)
        {
            throw mismatch(what + " names backend #" + i + " of " + backends.length);
        }
        return backends[i];
    }

    private static byte[] slice(final ByteBuffer buf, final int length, final String what)
    {
        if (length > buf.remaining())
        {
            throw mismatch(what + " claims " + length + " bytes, " + buf.remaining() + " remain");
        }
        final byte[] out = new byte[length];
        buf.get(out);
        return out;
    }

    private static String utf8(final byte[] raw)
    {
        try
        {
            final CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(raw));
            return chars.toString();
        }
        catch (final CharacterCodingException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "agent name is not valid UTF-8", ex);
        }
    }

    private static byte[] ascii(final String backend)
    {
        final byte[] a = backend.getBytes(StandardCharsets.US_ASCII);
        if (0 == a.length || a.length > MAX_BACKEND_NAME)
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "backend name '" + backend + "' must be 1 to " +
                MAX_BACKEND_NAME + " ASCII characters");
        }
        return a;
    }

    private static FerryException mismatch(final String message)
    {
        return new FerryException(ErrorCode.MISMATCH, message);
    }
}
