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
 * authentication, before the request (see {@link ExchangeAuth}):
 *            HELLO (6, client) body = client nonce, 32 random bytes
 *            CHALLENGE (7, listener) body = listener nonce (32 bytes) | listener proof (32 bytes)
 *            AUTH (8, client) body = client proof (32 bytes)
 * </pre>
 * A frame with a bad magic, version or type, or a body longer than the limit, ends the connection. A body is read
 * in pieces into a buffer that grows only as its bytes arrive: a declared length costs nothing until it is sent.
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
    static final byte HELLO = 6;
    static final byte CHALLENGE = 7;
    static final byte AUTH = 8;
    /** Bytes of a nonce or a proof. */
    static final int NONCE = 32;
    /** A body is read in pieces of at most this many bytes; its buffer grows with what arrived. */
    private static final int READ_STEP = 64 * 1024;
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
        return read(in, MAX_BODY);
    }

    /**
     * Reads a frame whose body may be at most {@code maxBody} bytes.
     */
    static Frame read(final DataInputStream in, final int maxBody) throws IOException
    {
        final Header h = readHeader(in, maxBody);
        return new Frame(h.type(), readBody(in, h.length()));
    }

    /**
     * A frame's header.
     *
     * @param type   its type.
     * @param length its body length.
     */
    record Header(byte type, int length)
    {
    }

    static Header readHeader(final DataInputStream in, final int maxBody) throws IOException
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
        if (type < LOAD || type > AUTH)
        {
            throw new IOException("unknown metadata exchange frame type " + type);
        }
        if (length < 0 || length > maxBody)
        {
            throw new IOException("frame body of " + Integer.toUnsignedString(length) + " bytes exceeds " + maxBody);
        }
        return new Header(type, length);
    }

    /** Reads {@code length} body bytes into a buffer that grows only as they arrive. */
    static byte[] readBody(final DataInputStream in, final int length) throws IOException
    {
        byte[] body = new byte[Math.min(length, READ_STEP)];
        int have = 0;
        while (have < length)
        {
            if (have == body.length)
            {
                body = java.util.Arrays.copyOf(body, (int)Math.min(length, 2L * body.length));
            }
            final int n = in.read(body, have, body.length - have);
            if (n < 0)
            {
                throw new java.io.EOFException("the connection closed " + (length - have) + " bytes into a " + length +
                    "-byte frame body");
            }
            have += n;
        }
        return body;
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
