package io.ferry;

import java.util.Locale;

/**
 * The direction of a one-sided transfer, seen from the initiator.
 */
public enum TransferOp
{
    /** Bytes move from the target's memory into the initiator's memory (pull). */
    READ,
    /** Bytes move from the initiator's memory into the target's memory (push). */
    WRITE;

    /**
     * @param name "READ" or "WRITE", case-insensitive.
     * @return the operation.
     * @throws FerryException INVALID_PARAM naming the unknown operation.
     */
    public static TransferOp parse(final String name)
    {
        if (null != name)
        {
            switch (name.trim().toUpperCase(Locale.ROOT))
            {
                case "READ":
                    return READ;
                case "WRITE":
                    return WRITE;
                default:
                    break;
            }
        }
        throw FerryException.invalid("unknown transfer operation '" + name + "' (expected READ or WRITE)");
    }
}
