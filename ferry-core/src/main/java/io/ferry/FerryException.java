package io.ferry;

import java.util.Objects;

/**
 * The one exception type ferry throws for bad input and failed operations. It always carries an {@link ErrorCode}
 * and a message that names the object at fault (which descriptor, which region, which peer).
 */
public class FerryException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    /**
     * @param code    what kind of failure.
     * @param message what failed, naming the object at fault.
     */
    public FerryException(final ErrorCode code, final String message)
    {
        super(code + ": " + message);
        this.code = Objects.requireNonNull(code, "code");
    }

    /**
     * @param code    what kind of failure.
     * @param message what failed, naming the object at fault.
     * @param cause   the underlying failure.
     */
    public FerryException(final ErrorCode code, final String message, final Throwable cause)
    {
        super(code + ": " + message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /**
     * @return what kind of failure this is.
     */
    public ErrorCode code()
    {
        return code;
    }

    /**
     * @param message what is wrong with the input, naming it.
     * @return an INVALID_PARAM exception.
     */
    public static FerryException invalid(final String message)
    {
        return new FerryException(ErrorCode.INVALID_PARAM, message);
    }
}
