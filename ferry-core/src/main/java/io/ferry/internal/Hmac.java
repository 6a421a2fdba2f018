package io.ferry.internal;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

/**
 * HMAC-SHA256, the one MAC of every plane's challenge-response (metadata exchange, TCP handshake) and of sealed
 * metadata records.
 */
public final class Hmac
{
    /** Bytes of a MAC. */
    public static final int LENGTH = 32;

    private Hmac()
    {
    }

    /**
     * @param secret the shared secret, or null.
     * @param parts  what the MAC covers, in order.
     * @return HMAC-SHA256(secret, parts...), or 32 zero bytes without a secret.
     */
    public static byte[] sha256(final byte[] secret, final byte[]... parts)
    {
        if (null == secret)
        {
            return new byte[LENGTH];
        }
        try
        {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            for (final byte[] p : parts)
            {
                mac.update(p);
            }
            return mac.doFinal();
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("HmacSHA256 unavailable", ex);
        }
    }

    /** @return whether two MACs are equal, in time that does not depend on where they differ. */
    public static boolean matches(final byte[] expected, final byte[] actual)
    {
        return MessageDigest.isEqual(expected, actual);
    }
}
