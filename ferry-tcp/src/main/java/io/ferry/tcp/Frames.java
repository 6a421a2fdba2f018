package io.ferry.tcp;

import java.nio.ByteBuffer;

/**
 * The TCP backend's wire format (version 2). Every frame starts with a 16-byte header; all integers are big-endian.
 * Every frame is a whole number of 64-byte units ({@link #ALIGN}), and a frame's bulk bytes (WRITE and READ_DATA
 * payloads) start on such a unit: zero padding follows the fixed part and the payload. So when the buffers at both
 * ends are 64-byte aligned, the kernel's copies into and out of socket buffers run on aligned addresses. On the
 * 2-vCPU AMD EPYC guest this project is measured on, a copy to a destination 16 bytes off a cache line ran at about
 * 40% of an aligned one (a C request/response over loopback: 2.3 against 5.9 GB/s), and ferry's READ 1 MiB went from
 * 3.6-4.5 to 4.7-5.2 GB/s with this format (alternating runs; {@code bench/results/tcp-loopback/NOTES.md}). A frame's
 * body length counts its padding.
 * <pre>
 * Header
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |         magic 0x4659 'FY'     |  version (2)  |     type      |
 * +-------------------------------+---------------+---------------+
 * |   body length (bytes after the header, u32; 16 + body is a    |
 * |   multiple of 64)                                             |
 * +---------------------------------------------------------------+
 * |                    id (chunk or notification id)              |
 * |                                                               |
 * +---------------------------------------------------------------+
 *
 * CHALLENGE (1, target to initiator, first frame on a connection): body = 32 random bytes, 16 zero bytes
 * HELLO (2, initiator to target):
 * +-------------------------------+-------------------------------+
 * |   initiator name length u16   |   initiator name UTF-8      ...
 * +-------------------------------+-------------------------------+
 * |   target name length u16      |   target name UTF-8         ...
 * +-------------------------------+-------------------------------+
 * |        path index u16         |  flags u16 (bit 0: a nonce follows the MAC; bit 1: a generation follows)
 * +-------------------------------+-------------------------------+
 * |   HMAC-SHA256(secret, challenge | initiator | 0 | target), 32 bytes (zeros without secret)
 * +---------------------------------------------------------------+
 * |   initiator nonce, 32 random bytes (when flag bit 0 is set)  ...
 * +---------------------------------------------------------------+
 * |   connection generation u32 (when flag bit 1 is set): how many times this path index was connected
 * +---------------------------------------------------------------+
 * |   zero padding to the next 64-byte unit                     ...
 * +---------------------------------------------------------------+
 * HELLO_OK (3): the target's limits and its proof of the secret (the whole frame is 64 bytes)
 * +---------------------------------------------------------------+
 * |   max_frame_bytes u32: the largest frame body it accepts      |
 * +---------------------------------------------------------------+
 * |   max_notification_bytes u32: the largest notification payload|
 * +-------------------------------+-------------------------------+
 * |   max_spans_per_chunk u16     |          reserved u16         |
 * +-------------------------------+-------------------------------+
 * |                          reserved u32                         |
 * +---------------------------------------------------------------+
 * |   HMAC-SHA256(secret, "ferry-target" | initiator nonce | challenge | target | 0 | initiator), 32 bytes:
 * |   the target's proof (zeros without a secret or without an initiator nonce)
 * +---------------------------------------------------------------+
 *
 * WRITE (4) and READ_REQ (5): header id = chunk id
 * +-------------------------------+-------------------------------+
 * |         span count u16        |      flags u16 (bit 0: CRC)   |
 * +-------------------------------+-------------------------------+
 * |          CRC32C of the payload (WRITE; 0 otherwise)           |
 * +---------------------------------------------------------------+
 * | span count x { region key u64 | offset in region u64 | length u32 }
 * +---------------------------------------------------------------+
 * | zero padding: the payload starts at a multiple of 64 from the frame's start
 * +---------------------------------------------------------------+
 * | payload: the spans' bytes, in order (WRITE only)            ...
 * +---------------------------------------------------------------+
 * | zero padding to the next 64-byte unit (WRITE only)          ...
 * +---------------------------------------------------------------+
 *
 * READ_DATA (6) and ACK (7): header id = chunk (or notification) id; the data start at frame offset 64
 * +-------------------------------+-------------------------------+
 * |   status u16 (see below)      |      flags u16 (bit 0: CRC)   |
 * +-------------------------------+-------------------------------+
 * |          CRC32C of the payload (READ_DATA; 0 otherwise)       |
 * +---------------------------------------------------------------+
 * |          data length u32 (payload or reason bytes)            |
 * +---------------------------------------------------------------+
 * |          36 reserved zero bytes                             ...
 * +---------------------------------------------------------------+
 * | data: READ_DATA with status 0: the requested bytes;          ...
 * |       otherwise the reason, UTF-8                             |
 * +---------------------------------------------------------------+
 * | zero padding to the next 64-byte unit                       ...
 * +---------------------------------------------------------------+
 *
 * NOTIFY (8): header id = notification id (the target drops repeats of an id it has seen)
 * +-------------------------------+-------------------------------+
 * | kind u16 (0 data ready, 1 standalone, 2 failure) | reserved u16 |
 * +-------------------------------+-------------------------------+
 * |                   reason length u32                           |
 * +---------------------------------------------------------------+
 * |                   payload length u32                          |
 * +---------------------------------------------------------------+
 * |                   reserved u32                                |
 * +---------------------------------------------------------------+
 * | reason UTF-8 (failure only) | notification payload | zero padding to the next 64-byte unit
 * +---------------------------------------------------------------+
 * CLOSE (9): body = 48 zero bytes; the sender closes the connection after it
 * FENCE (10, initiator to target, on a live path): header id = chunk id (answered by an ACK)
 * +-------------------------------+-------------------------------+
 * |   abandoned path index u16    |          reserved u16         |
 * +-------------------------------+-------------------------------+
 * |   that path's connection generation u32 (from its HELLO)      |
 * +---------------------------------------------------------------+
 * |   40 zero bytes                                             ...
 * +---------------------------------------------------------------+
 *   The target closes that connection if it is still the one of that index and generation, and answers only once
 *   the connection can apply nothing more: a WRITE the initiator resent elsewhere can never land late over newer
 *   bytes. The initiator completes a request whose WRITE chunks it moved off a path only after that path's FENCE.
 *
 * Statuses of READ_DATA and ACK: 0 OK; 1 BAD_REGION (no live region has the key); 2 OUT_OF_BOUNDS (a span outside
 * its region); 3 CRC_MISMATCH; 4 MALFORMED (with chunk id 0: the frame could not be parsed and the target closes
 * the connection; also a refused HELLO); 5 OVER_LIMIT (a well-formed request over the target's max_spans_per_chunk,
 * max_frame_bytes for a READ's reply, or max_notification_bytes); 6 MEMORY_FREED (the region's memory was freed
 * while registered). Every status but MALFORMED leaves the connection open.
 * </pre>
 * The target validates each frame before touching memory: magic, version, type, a body length within its limit
 * that makes the frame a whole number of 64-byte units, a span list that fits the body, a body exactly as long as
 * its spans (and padding) say, every span inside a live registered region whose key matches. A malformed frame
 * closes the connection; a well-formed request for memory it may not touch, or over its limits, is refused with a
 * status. Every length is read as unsigned; a request's total is carried as a long and bounded before use.
 */
final class Frames
{
    static final short MAGIC = 0x4659;
    static final byte VERSION = 2;
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
    static final byte FENCE = 10;

    /** Every frame is a whole number of these many bytes; bulk payloads start on such a boundary. */
    static final int ALIGN = 64;
    /** Body of a frame that carries nothing (HELLO_OK, CLOSE): one 64-byte unit with its header. */
    static final int EMPTY_BODY = ALIGN - HEADER_LENGTH;
    static final int CHALLENGE_LENGTH = 32;
    /** The challenge and its padding. */
    static final int CHALLENGE_BODY = ALIGN - HEADER_LENGTH;
    static final int MAC_LENGTH = 32;
    /** Span count, flags, CRC. */
    static final int CHUNK_FIXED = 8;
    /** Key, offset, length. */
    static final int SPAN_LENGTH = 20;
    /** Status, flags, CRC, data length, 36 reserved bytes: the data start at frame offset 64. */
    static final int REPLY_FIXED = ALIGN - HEADER_LENGTH;
    /** Kind, reserved, reason length, payload length, reserved. */
    static final int NOTIFY_FIXED = 16;
    static final int MAX_SPANS = 4096;
    static final int MAX_NAME = 1024;

    static final short FLAG_CRC = 1;
    /** HELLO flag: the initiator's nonce follows its MAC, and it wants the target's proof in HELLO_OK. */
    static final short HELLO_FLAG_NONCE = 1;
    /** HELLO flag: the path's connection generation follows (the nonce, or the MAC). */
    static final short HELLO_FLAG_GENERATION = 2;

    static final short NOTIFY_DATA = 0;
    static final short NOTIFY_STANDALONE = 1;
    static final short NOTIFY_FAILURE = 2;

    static final short OK = 0;
    static final short BAD_REGION = 1;
    static final short OUT_OF_BOUNDS = 2;
    static final short CRC_MISMATCH = 3;
    static final short MALFORMED = 4;
    /** A well-formed request over one of the target's limits (spans, reply size, notification size). */
    static final short OVER_LIMIT = 5;
    /** A span's region is registered but its memory was freed behind ferry's back (its arena closed). */
    static final short MEMORY_FREED = 6;
    /** Never on the wire: the initiator's own memory for a READ reply was freed before the reply came. */
    static final short LOCAL_FREED = 100;

    /** Most reason bytes a refusing reply carries. */
    static final int MAX_REASON = 1024;

    /** Zero bytes to pad a frame with. */
    private static final byte[] ZEROS = new byte[ALIGN];

    private Frames()
    {
    }

    /** @return {@code length} rounded up to a whole number of 64-byte units. */
    static long aligned(final long length)
    {
        return (length + ALIGN - 1) & -(long)ALIGN;
    }

    /** @return the zero bytes that follow {@code length} bytes to the next 64-byte unit (0 to 63). */
    static int padding(final long length)
    {
        return (int)(aligned(length) - length);
    }

    /** Appends the zero bytes that bring the buffer's position to a multiple of 64. */
    static ByteBuffer putPadding(final ByteBuffer buf)
    {
        return buf.put(ZEROS, 0, padding(buf.position()));
    }

    /**
     * @param pad     a buffer of at least 63 zero bytes that nobody writes into.
     * @param payload bytes just written or read.
     * @return {@code pad} limited to the padding that follows {@code payload} bytes.
     */
    static ByteBuffer tailPadding(final ByteBuffer pad, final long payload)
    {
        return pad.clear().limit(padding(payload));
    }

    /** @return frame bytes before a WRITE's payload (or the whole READ_REQ frame): header, fixed part, spans, padding. */
    static int chunkPrefix(final int spans)
    {
        return (int)aligned(HEADER_LENGTH + CHUNK_FIXED + (long)spans * SPAN_LENGTH);
    }

    /** @return the body length of a WRITE ({@code payload} bytes) or READ_REQ ({@code payload} 0) frame. */
    static long chunkBody(final int spans, final long payload)
    {
        return chunkPrefix(spans) - HEADER_LENGTH + aligned(payload);
    }

    /** @return the body length of a READ_DATA or ACK frame whose data (payload or reason) are {@code data} bytes. */
    static long replyBody(final long data)
    {
        return REPLY_FIXED + aligned(data);
    }

    /** @return the body length of a NOTIFY frame. */
    static int notifyBody(final int reason, final int payload)
    {
        return (int)aligned((long)HEADER_LENGTH + NOTIFY_FIXED + reason + payload) - HEADER_LENGTH;
    }

    /**
     * Writes a READ_DATA or ACK frame's first 64 bytes (header and fixed part); its data and padding follow.
     *
     * @return the buffer, positioned after them.
     */
    static ByteBuffer putReplyPrefix(final ByteBuffer buf, final byte type, final long id, final short status,
        final short flags, final int crc, final int dataLength)
    {
        putHeader(buf, type, (int)replyBody(dataLength), id);
        buf.putShort(status).putShort(flags).putInt(crc).putInt(dataLength);
        return putPadding(buf);
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
            case FENCE -> "FENCE";
            default -> "type " + type;
        };
    }

    /**
     * One fault, one code on every backend (the README's contract table): a span the target does not serve (no such
     * live region, or outside it) is NOT_FOUND as on LOCAL; memory freed behind ferry's back, a payload that failed
     * its CRC32C on every try or a frame the target could not parse is BACKEND; a request over the target's limits
     * is INVALID_PARAM.
     *
     * @return the error code of a refusing status.
     */
    static io.ferry.ErrorCode errorCode(final int status)
    {
        return switch (status)
        {
            case BAD_REGION, OUT_OF_BOUNDS -> io.ferry.ErrorCode.NOT_FOUND;
            case OVER_LIMIT -> io.ferry.ErrorCode.INVALID_PARAM;
            default -> io.ferry.ErrorCode.BACKEND;
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
            case OVER_LIMIT -> "OVER_LIMIT";
            case MEMORY_FREED -> "MEMORY_FREED";
            case LOCAL_FREED -> "LOCAL_FREED";
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
        if (type < CHALLENGE || type > FENCE)
        {
            return "unknown frame type " + type;
        }
        final int length = header.getInt(4);
        if (length < 0 || length > maxBody)
        {
            return Frames.typeName(type) + " body of " + Integer.toUnsignedString(length) + " bytes exceeds the " +
                maxBody + " allowed";
        }
        if (0 != padding(HEADER_LENGTH + (long)length))
        {
            return Frames.typeName(type) + " frame of " + (HEADER_LENGTH + (long)length) + " bytes is not a whole " +
                "number of " + ALIGN + "-byte units";
        }
        return null;
    }
}
