package io.ferry.tcp;

import java.nio.ByteBuffer;

/**
 * The TCP backend's wire format. Every frame starts with a 16-byte header; all integers are big-endian.
 * <pre>
 * Header
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |         magic 0x4659 'FY'     |  version (1)  |     type      |
 * +-------------------------------+---------------+---------------+
 * |           body length (bytes after the header, u32)           |
 * +---------------------------------------------------------------+
 * |                    id (chunk or notification id)              |
 * |                                                               |
 * +---------------------------------------------------------------+
 *
 * CHALLENGE (1, target to initiator, first frame on a connection): body = 32 random bytes
 * HELLO (2, initiator to target):
 * +-------------------------------+-------------------------------+
 * |   initiator name length u16   |   initiator name UTF-8      ...
 * +-------------------------------+-------------------------------+
 * |   target name length u16      |   target name UTF-8         ...
 * +-------------------------------+-------------------------------+
 * |        path index u16         |          reserved u16         |
 * +-------------------------------+-------------------------------+
 * |   HMAC-SHA256(secret, challenge | initiator | target), 32 bytes (zeros without secret)
 * +---------------------------------------------------------------+
 * HELLO_OK (3): empty body
 *
 * WRITE (4) and READ_REQ (5): header id = chunk id
 * +-------------------------------+-------------------------------+
 * |         span count u16        |      flags u16 (bit 0: CRC)   |
 * +-------------------------------+-------------------------------+
 * |          CRC32C of the payload (WRITE; 0 otherwise)           |
 * +---------------------------------------------------------------+
 * | span count x { region key u64 | offset in region u64 | length u32 }
 * +---------------------------------------------------------------+
 * | payload: the spans' bytes, in order (WRITE only)            ...
 * +---------------------------------------------------------------+
 *
 * READ_DATA (6) and ACK (7): header id = chunk (or notification) id
 * +-------------------------------+-------------------------------+
 * |   status u16 (0 = OK)         |      flags u16 (bit 0: CRC)   |
 * +-------------------------------+-------------------------------+
 * |          CRC32C of the payload (READ_DATA; 0 otherwise)       |
 * +---------------------------------------------------------------+
 * | payload: READ_DATA with status 0: the requested bytes;       ...
 * |          otherwise the reason, UTF-8                          |
 * +---------------------------------------------------------------+
 *
 * NOTIFY (8): header id = notification id (the target drops repeats of an id it has seen)
 * +-------------------------------+-------------------------------+
 * | kind u16 (0 data ready, 1 standalone, 2 failure) | reserved u16 |
 * +-------------------------------+-------------------------------+
 * |                   reason length u32                           |
 * +---------------------------------------------------------------+
 * | reason UTF-8 (failure only) | notification payload          ...
 * +---------------------------------------------------------------+
 * CLOSE (9): empty body; the sender closes the connection after it
 * </pre>
 * The target validates each frame before touching memory: magic, version, type, a body length within its limit,
 * a span list that fits the body, every span inside a live registered region whose key matches. A malformed frame
 * closes the connection; a well-formed request for memory it may not touch is refused with a status.
 */
final class Frames
{
    static final short MAGIC = 0x4659;
    static final byte VERSION = 1;
    static final int HEADER_LENGTH = 16;

    static final byte CHALLENGE = 1;
    static final byte HELLO = 2;
    static final byte HELLO_OK = 3;
    static final byte WRITE = 4;
    static final byte READ_REQ = 5;
    static final byte READ_DATA = 6;
    static final byte ACK = 7;
    static final byte NOTIFY = 8;
    static final byte CLOSE = 9;

    static final int CHALLENGE_LENGTH = 32;
    static final int MAC_LENGTH = 32;
    /** Span count, flags, CRC. */
    static final int CHUNK_FIXED = 8;
    /** Key, offset, length. */
    static final int SPAN_LENGTH = 20;
    /** Status, flags, CRC. */
    static final int REPLY_FIXED = 8;
    /** Kind, reserved, reason length. */
    static final int NOTIFY_FIXED = 8;
    static final int MAX_SPANS = 4096;
    static final int MAX_NAME = 1024;

    static final short FLAG_CRC = 1;

    static final short NOTIFY_DATA = 0;
    static final short NOTIFY_STANDALONE = 1;
    static final short NOTIFY_FAILURE = 2;

    static final short OK = 0;
    static final short BAD_REGION = 1;
    static final short OUT_OF_BOUNDS = 2;
    static final short CRC_MISMATCH = 3;
    static final short MALFORMED = 4;

    private Frames()
    {
    }

    static void putHeader(final ByteBuffer buf, final byte type, final int bodyLength, final long id)
    {
        buf.putShort(MAGIC).put(VERSION).put(type).putInt(bodyLength).putLong(id);
    }

    static String typeName(final int type)
    {
        return switch (type)
        {
            case CHALLENGE -> "CHALLENGE";
            case HELLO -> "HELLO";
            case HELLO_OK -> "HELLO_OK";
            case WRITE -> "WRITE";
            case READ_REQ -> "READ_REQ";
            case READ_DATA -> "READ_DATA";
            case ACK -> "ACK";
            case NOTIFY -> "NOTIFY";
            case CLOSE -> "CLOSE";
            default -> "type " + type;
        };
    }

    static String statusName(final int status)
    {
        return switch (status)
        {
            case OK -> "OK";
            case BAD_REGION -> "BAD_REGION";
            case OUT_OF_BOUNDS -> "OUT_OF_BOUNDS";
            case CRC_MISMATCH -> "CRC_MISMATCH";
            case MALFORMED -> "MALFORMED";
            default -> "status " + status;
        };
    }

    /**
     * Checks a header just read (buffer positioned after it).
     *
     * @param header  the 16 header bytes.
     * @param maxBody the largest body accepted.
     * @return null when valid, else what is wrong.
     */
    static String checkHeader(final ByteBuffer header, final int maxBody)
    {
        final short magic = header.getShort(0);
        if (MAGIC != magic)
        {
            return "bad magic 0x" + Integer.toHexString(magic & 0xFFFF);
        }
        final byte version = header.get(2);
        if (VERSION != version)
        {
            return "unsupported protocol version " + version;
        }
        final byte type = header.get(3);
        if (type < CHALLENGE || type > CLOSE)
        {
            return "unknown frame type " + type;
        }
        final int length = header.getInt(4);
        if (length < 0 || length > maxBody)
        {
            return Frames.typeName(type) + " body of " + Integer.toUnsignedString(length) + " bytes exceeds the " +
                maxBody + " allowed";
        }
        return null;
    }
}
