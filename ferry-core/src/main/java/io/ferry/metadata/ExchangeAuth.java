package io.ferry.metadata;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * The metadata exchange's mutual challenge-response, run before every request:
 * <pre>
 * client   -> listener  HELLO     client nonce Nc (32 random bytes)
 * listener -> client    CHALLENGE listener nonce Nl | HMAC-SHA256(secret, "ferry-md-listener" | Nc | Nl)
 * client   -> listener  AUTH      HMAC-SHA256(secret, "ferry-md-client" | Nl | Nc)
 * client   -> listener  the request (LOAD, FETCH, INVALIDATE); listener -> client its reply
 * </pre>
 * A client with a secret checks the listener's proof before it sends its request (so its metadata, access keys
 * included, never reaches a listener that does not know the secret); a listener with a secret checks the client's
 * proof before it reads a byte of the request, and refuses a request that comes without HELLO. A client without a
 * secret sends its request at once (there is nothing to prove); a listener without one answers a HELLO with a zero
 * proof, which a client with a secret refuses. Each side's fresh nonce makes a recorded proof useless later.
 */
final class ExchangeAuth
{
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] LISTENER_LABEL = "ferry-md-listener".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLIENT_LABEL = "ferry-md-client".getBytes(StandardCharsets.US_ASCII);

    private ExchangeAuth()
    {
    }

    static byte[] nonce()
    {
        final byte[] n = new byte[ExchangeFrames.NONCE];
        RANDOM.nextBytes(n);
        return n;
    }

    static byte[] listenerProof(final byte[] secret, final byte[] clientNonce, final byte[] listenerNonce)
    {
        return hmac(secret, LISTENER_LABEL, clientNonce, listenerNonce);
    }

    static byte[] clientProof(final byte[] secret, final byte[] listenerNonce, final byte[] clientNonce)
    {
        return hmac(secret, CLIENT_LABEL, listenerNonce, clientNonce);
    }

    static boolean matches(final byte[] expected, final byte[] actual)
    {
        return io.ferry.internal.Hmac.matches(expected, actual);
    }

    /** HMAC-SHA256 of the parts; zeros without a secret. */
    static byte[] hmac(final byte[] secret, final byte[]... parts)
    {
        return io.ferry.internal.Hmac.sha256(secret, parts);
    }
}
