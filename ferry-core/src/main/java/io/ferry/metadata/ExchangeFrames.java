package io.ferry.metadata;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Frames of the socket metadata exchange (one request and one reply per connection). Big-endian.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |        magic 0x464D 'FM'      |  version (1)  |     type      |
 * +-------------------------------+---------------+---------------+
 * |                      body length (u32)                        |
 * +---------------------------------------------------------------+
 * |                      body ...                                 |
 * +---------------------------------------------------------------+
 * requests:  LOAD (1) body = metadata blob: load it
 *            FETCH (2) empty: reply with LOAD carrying your full metadata
 *            INVALIDATE (3) body = agent name, UTF-8: drop that peer
 * replies:   LOAD (1) as above; OK (4) empty;
 *            ERROR (5) body = error code name (u16 length + ASCII) + message (UTF-8)
 * </pre>
 * A frame with a bad magic, version or type, or a body longer than the limit, ends the connection.
 */
final class ExchangeFrames
{
    static final short MAGIC = 0x464D;
    static final byte VERSION = 1;
    static final byte LOAD = 1;
    static final byte FETCH = 2;
    static final byte INVALIDATE = 3;
    static final byte OK = 4;
    static final byte ERROR = 5;
    /** Largest body accepted: metadata of hundreds of thousands of regions. */
    static final int MAX_BODY = 256 << 20;

    /**
     * A frame read off a connection.
     *
     * @param type the frame type.
     * @param body its body.
     */
    record Frame(byte type, byte[] body)
    {
    }

    private ExchangeFrames()
    {
    }

    static void write(final DataOutputStream out, final byte type, final byte[] body) throws IOException
    {
        out.writeShort(MAGIC);
        out.writeByte(VERSION);
        out.writeByte(type);
        out.writeInt(body.length);
        out.write(body);
        out.flush();
    }

    static Frame read(final DataInputStream in) throws IOException
    {
        final short magic = in.readShort();
        final byte version = in.readByte();
        final byte type = in.readByte();
        final int length = in.readInt();
        if (MAGIC != magic)
        {
            throw new IOException("not a ferry metadata exchange frame (magic 0x" +
                Integer.toHexString(magic & 0xFFFF) + ")");
        }
        if (VERSION != version)
        {
            throw new IOException("metadata exchange version " + version + " is not supported (this reads " +
                VERSION + ")");
        }
        if (type < LOAD || type > ERROR)
        {
            throw new IOException("unknown metadata exchange frame type " + type);
        }
        if (length < 0 || length > MAX_BODY)
        {
            throw new IOException("frame body of " + Integer.toUnsignedString(length) + " bytes exceeds " + MAX_BODY);
        }
        final byte[] body = new byte[length];
        in.readFully(body);
        return new Frame(type, body);
    }

    static byte[] error(final FerryException ex)
    {
        final byte[] code = ex.code().name().getBytes(StandardCharsets.US_ASCII);
        final byte[] message = ex.getMessage().getBytes(StandardCharsets.UTF_8);
        final byte[] out = new byte[2 + code.length + message.length];
        out[0] = (byte)(code.length >>> 8);
        out[1] = (byte)code.length;
        System.arraycopy(code, 0, out, 2, code.length);
        System.arraycopy(message, 0, out, 2 + code.length, message.length);
        return out;
    }

    static FerryException parseError(final byte[] body, final String peer)
    {
        ErrorCode code = ErrorCode.UNKNOWN;
        String message = "malformed error reply";
        if (body.length >= 2)
        {
            final int len = ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
            if (2 + len <= body.length)
            {
                try
                {
                    code = ErrorCode.valueOf(new String(body, 2, len, StandardCharsets.US_ASCII));
                }
                catch (final IllegalArgumentException ignore)
                {
                    code = ErrorCode.UNKNOWN;
                }
                message = new String(body, 2 + len, body.length - 2 - len, StandardCharsets.UTF_8);
            }
        }
        return new FerryException(code, "the agent at " + peer + " refused: " + message);
    }
}
