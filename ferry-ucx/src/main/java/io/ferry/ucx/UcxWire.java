package io.ferry.ucx;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * What the UCX backend publishes and sends, byte by byte (little-endian). A peer's bytes are checked against the
 * bounds below before anything is allocated for them.
 * <pre>
 * connection info (in the agent's metadata):
 *   0       4       6       8                 12
 *   +-------+-------+-------+-----------------+------------------------+
 *   | magic | ver=1 | 0     | address length  | UCP worker address ... |
 *   | FUCX  | u16   | u16   | u32 (&lt;= 64 KiB)  |                        |
 *   +-------+-------+-------+-----------------+------------------------+
 *
 * region public data (per registered region):
 *   0                 4
 *   +-----------------+---------------------------+
 *   | rkey length u32 | packed rkey (ucp_rkey_pack)|  rkey length &lt;= 64 KiB
 *   +-----------------+---------------------------+
 *
 * notification (one UCP active message, id {@link #AM_ID}, sent eagerly after the transfer's flush):
 *   header:  0     1       2                3
 *            +-----+-------+----------------+---------------------------+
 *            | v=1 | kind  | name length u8 | sender's agent name UTF-8 |
 *            +-----+-------+----------------+---------------------------+
 *            kind 0 = notification
 *   data:    the payload (&lt;= max_notification_bytes)
 * </pre>
 */
final class UcxWire
{
    /** The active message id of ferry's notifications. */
    static final int AM_ID = 0x4652;
    static final int MAX_ADDRESS_BYTES = 64 << 10;
    static final int MAX_RKEY_BYTES = 64 << 10;
    static final int MAX_NAME_BYTES = 255;
    private static final int MAGIC = 0x58435546; // "FUCX" little-endian
    private static final int VERSION = 1;

    private UcxWire()
    {
    }

    static byte[] connectionInfo(final byte[] workerAddress)
    {
        return ByteBuffer.allocate(12 + workerAddress.length).order(ByteOrder.LITTLE_ENDIAN).putInt(MAGIC)
            .putShort((short)VERSION).putShort((short)0).putInt(workerAddress.length).put(workerAddress).array();
    }

    /** @return the worker address inside a peer's connection info. */
    static byte[] workerAddress(final String peer, final byte[] info)
    {
        if (null == info || info.length < 12)
        {
            throw mismatch("UCX connection info of peer '" + peer + "' is " + (null == info ? 0 : info.length) +
                " bytes, shorter than its 12-byte header");
        }
        final ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN);
        final int magic = b.getInt();
        final int version = b.getShort() & 0xffff;
        b.getShort();
        final long length = b.getInt() & 0xffffffffL;
        if (MAGIC != magic || VERSION != version)
        {
            throw mismatch("UCX connection info of peer '" + peer + "' has magic 0x" + Integer.toHexString(magic) +
                " version " + version + " (this reads FUCX version " + VERSION + ")");
        }
        if (length == 0 || length > MAX_ADDRESS_BYTES || length != info.length - 12)
        {
            throw mismatch("UCX connection info of peer '" + peer + "' declares a " + length + "-byte worker " +
                "address in " + (info.length - 12) + " bytes (at most " + MAX_ADDRESS_BYTES + ")");
        }
        final byte[] address = new byte[(int)length];
        b.get(address);
        return address;
    }

    static byte[] publicData(final byte[] rkey)
    {
        return ByteBuffer.allocate(4 + rkey.length).order(ByteOrder.LITTLE_ENDIAN).putInt(rkey.length).put(rkey)
            .array();
    }

    /** @return the packed rkey inside a region's public data. */
    static byte[] rkey(final String peer, final long address, final byte[] data)
    {
        final String what = "UCX data of peer '" + peer + "' region at 0x" + Long.toHexString(address);
        if (null == data || data.length < 4)
        {
            throw mismatch(what + " is shorter than its 4-byte header");
        }
        final long length = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
        if (length == 0 || length > MAX_RKEY_BYTES || length != data.length - 4)
        {
            throw mismatch(what + " declares a " + length + "-byte rkey in " + (data.length - 4) + " bytes (at most " +
                MAX_RKEY_BYTES + ")");
        }
        final byte[] rkey = new byte[(int)length];
        System.arraycopy(data, 4, rkey, 0, rkey.length);
        return rkey;
    }

    static byte[] notificationHeader(final String sender)
    {
        final byte[] name = sender.getBytes(StandardCharsets.UTF_8);
        if (name.length > MAX_NAME_BYTES)
        {
            throw FerryException.invalid("agent name '" + sender + "' is longer than " + MAX_NAME_BYTES +
                " bytes, the most a UCX notification carries");
        }
        final byte[] h = new byte[3 + name.length];
        h[0] = VERSION;
        h[1] = 0;
        h[2] = (byte)name.length;
        System.arraycopy(name, 0, h, 3, name.length);
        return h;
    }

    /** @return the sender's name in a notification header, or null when the header is not one ferry sends. */
    static String notificationSender(final byte[] header)
    {
        if (header.length < 3 || VERSION != header[0] || 0 != header[1] || (header[2] & 0xff) != header.length - 3)
        {
            return null;
        }
        return new String(header, 3, header.length - 3, StandardCharsets.UTF_8);
    }

    private static FerryException mismatch(final String message)
    {
        return new FerryException(ErrorCode.MISMATCH, message);
    }
}
