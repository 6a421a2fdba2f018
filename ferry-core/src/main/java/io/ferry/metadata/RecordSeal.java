package io.ferry.metadata;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A MAC over a metadata record kept in a shared store (etcd), so that an agent with a secret loads only what an
 * agent with the same secret published.
 * <pre>
 * +---------------------------------------------------------------+
 * |  magic "FSL1" (4 bytes)                                       |
 * +---------------------------------------------------------------+
 * |  HMAC-SHA256(secret, "ferry-record" | blob), 32 bytes         |
 * +---------------------------------------------------------------+
 * |  the metadata blob ...                                        |
 * +---------------------------------------------------------------+
 * </pre>
 * Without a secret a record is the bare blob. The seal proves who wrote a record, not that it is the newest: a
 * writer to the store could put back an older record of the same agent (its access keys are then stale and
 * refused by that agent's backends).
 */
public final class RecordSeal
{
    private static final byte[] MAGIC = "FSL1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LABEL = "ferry-record".getBytes(StandardCharsets.US_ASCII);
    private static final int PREFIX = MAGIC.length + ExchangeFrames.NONCE;

    private RecordSeal()
    {
    }

    /**
     * @param secret the secret, or null.
     * @param blob   a metadata blob.
     * @return the record to store: the blob sealed, or the bare blob without a secret.
     */
    public static byte[] seal(final byte[] secret, final byte[] blob)
    {
        if (null == secret)
        {
            return blob.clone();
        }
        final byte[] out = new byte[PREFIX + blob.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        System.arraycopy(ExchangeAuth.hmac(secret, LABEL, blob), 0, out, MAGIC.length, ExchangeFrames.NONCE);
        System.arraycopy(blob, 0, out, PREFIX, blob.length);
        return out;
    }

    /**
     * @param secret the secret, or null.
     * @param record a stored record.
     * @param where  where it was read, for the error.
     * @return the blob inside.
     * @throws FerryException NOT_ALLOWED when the record is not sealed with this secret (or is sealed and this
     *                        side has no secret).
     */
    public static byte[] open(final byte[] secret, final byte[] record, final String where)
    {
        final boolean sealed = record.length >= PREFIX && Arrays.equals(record, 0, MAGIC.length, MAGIC, 0,
            MAGIC.length);
        if (null == secret)
        {
            if (sealed)
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, "the metadata record at " + where + " is sealed " +
                    "with an auth_secret and this agent has none");
            }
            return record;
        }
        if (!sealed)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "the metadata record at " + where + " is not sealed " +
                "with auth_secret: refused");
        }
        final byte[] blob = Arrays.copyOfRange(record, PREFIX, record.length);
        if (!ExchangeAuth.matches(ExchangeAuth.hmac(secret, LABEL, blob), Arrays.copyOfRange(record, MAGIC.length,
            PREFIX)))
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "the metadata record at " + where + " fails its " +
                "auth_secret MAC (another secret, or altered): refused");
        }
        return blob;
    }
}
