package io.ferry.connect;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The connector's control messages, carried as agent notification payloads.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |        magic 'F' 'C'          |  version (1)  |     verb      |
 * +-------------------------------+---------------+---------------+
 * |     key length (u16, BE)      |          key (UTF-8)         ...
 * +-------------------------------+-------------------------------+
 * |                     body (the rest)                          ...
 * +---------------------------------------------------------------+
 * </pre>
 * Verbs: BEGIN, DONE (the notification a transfer carries, so it arrives after the data), CANCEL and FAIL (body:
 * the reason) name an operation's key; RELEASE, EXTEND and EXPIRED name a lease's request id; USER carries an
 * application message in its body with an empty key; HELLO and HELLO_OK carry a {@link PoolHandshake} in their
 * body (key: the pool's layout tag) and HELLO_REJECT the reason a pool refused one. A payload without the magic is an application message
 * from a plain agent and is passed on unchanged.
 */
final class ControlMessage
{
    static final byte VERSION = 1;
    static final byte BEGIN = 1;
    static final byte DONE = 2;
    static final byte CANCEL = 3;
    static final byte FAIL = 4;
    static final byte RELEASE = 5;
    static final byte EXTEND = 6;
    static final byte EXPIRED = 7;
    static final byte USER = 8;
    static final byte HELLO = 9;
    static final byte HELLO_OK = 10;
    static final byte HELLO_REJECT = 11;
    static final int HEADER = 6;
    static final int MAX_KEY = 1024;

    final byte verb;
    final String key;
    final byte[] body;

    private ControlMessage(final byte verb, final String key, final byte[] body)
    {
        this.verb = verb;
        this.key = key;
        this.body = body;
    }

    static byte[] encode(final byte verb, final String key, final byte[] body)
    {
        final byte[] k = key.getBytes(StandardCharsets.UTF_8);
        if (k.length > MAX_KEY)
        {
            throw new IllegalArgumentException("key of " + k.length + " bytes, at most " + MAX_KEY);
        }
        return ByteBuffer.allocate(HEADER + k.length + body.length).put((byte)'F').put((byte)'C').put(VERSION)
            .put(verb).putShort((short)k.length).put(k).put(body).array();
    }

    static byte[] encode(final byte verb, final String key, final String body)
    {
        return encode(verb, key, body.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] encode(final byte verb, final String key)
    {
        return encode(verb, key, new byte[0]);
    }

    /**
     * @param payload a notification payload.
     * @return the control message, or null when the payload is not one (no magic, another version, truncated).
     */
    static ControlMessage decode(final byte[] payload)
    {
        if (payload.length < HEADER || 'F' != payload[0] || 'C' != payload[1] || VERSION != payload[2])
        {
            return null;
        }
        final int keyLength = ((payload[4] & 0xFF) << 8) | (payload[5] & 0xFF);
        if (HEADER + keyLength > payload.length || payload[3] < BEGIN || payload[3] > HELLO_REJECT)
        {
            return null;
        }
        final String key = new String(payload, HEADER, keyLength, StandardCharsets.UTF_8);
        final byte[] body = java.util.Arrays.copyOfRange(payload, HEADER + keyLength, payload.length);
        return new ControlMessage(payload[3], key, body);
    }

    String bodyAsString()
    {
        return new String(body, StandardCharsets.UTF_8);
    }
}
