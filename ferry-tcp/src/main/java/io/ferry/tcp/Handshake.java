package io.ferry.tcp;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

/**
 * Connection set-up: the target sends a random challenge; the initiator answers with HELLO naming itself, the
 * target agent it wants and, when a shared secret is configured, HMAC-SHA256(secret, challenge | initiator |
 * target). The target refuses a HELLO for another agent name or with a wrong MAC.
 */
final class Handshake
{
    private Handshake()
    {
    }

    static byte[] mac(final byte[] secret, final byte[] challenge, final String initiator, final String target)
    {
        if (null == secret)
        {
            return new byte[Frames.MAC_LENGTH];
        }
        try
        {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(challenge);
            mac.update(initiator.getBytes(StandardCharsets.UTF_8));
            mac.update((byte)0);
            mac.update(target.getBytes(StandardCharsets.UTF_8));
            return mac.doFinal();
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("HmacSHA256 unavailable", ex);
        }
    }

    static boolean macMatches(final byte[] expected, final byte[] actual)
    {
        return MessageDigest.isEqual(expected, actual);
    }

    /** @return the body length of a HELLO with names of these many bytes (padding included). */
    static int helloBody(final int initiatorLength, final int targetLength)
    {
        return (int)Frames.aligned(Frames.HEADER_LENGTH + 2 + initiatorLength + 2 + targetLength + 4 +
            Frames.MAC_LENGTH) - Frames.HEADER_LENGTH;
    }

    static ByteBuffer hello(final String initiator, final String target, final int path, final byte[] mac)
    {
        final byte[] i = initiator.getBytes(StandardCharsets.UTF_8);
        final byte[] t = target.getBytes(StandardCharsets.UTF_8);
        final int body = helloBody(i.length, t.length);
        final ByteBuffer buf = ByteBuffer.allocate(Frames.HEADER_LENGTH + body);
        Frames.putHeader(buf, Frames.HELLO, body, 0);
        buf.putShort((short)i.length).put(i).putShort((short)t.length).put(t).putShort((short)path)
            .putShort((short)0).put(mac);
        return Frames.putPadding(buf).flip();
    }

    /**
     * A HELLO as the target read it.
     *
     * @param initiator the initiator's name.
     * @param target    the agent it asked for.
     * @param path      its path index.
     * @param mac       its MAC.
     */
    record Hello(String initiator, String target, int path, byte[] mac)
    {
        static Hello parse(final ByteBuffer body)
        {
            final String initiator = string(body);
            final String target = string(body);
            final int path = Short.toUnsignedInt(body.getShort());
            body.getShort();
            final byte[] mac = new byte[Frames.MAC_LENGTH];
            body.get(mac);
            if (body.remaining() >= Frames.ALIGN)
            {
                throw new IllegalArgumentException("HELLO has " + body.remaining() + " trailing bytes");
            }
            return new Hello(initiator, target, path, mac);
        }

        private static String string(final ByteBuffer body)
        {
            final int len = Short.toUnsignedInt(body.getShort());
            if (0 == len || len > Frames.MAX_NAME || len > body.remaining())
            {
                throw new IllegalArgumentException("HELLO name of " + len + " bytes");
            }
            final byte[] raw = new byte[len];
            body.get(raw);
            return new String(raw, StandardCharsets.UTF_8);
        }
    }
}
