package io.ferry.internal;

/**
 * A Linux system call made through FFM failed.
 */
public final class SystemCallException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** The errno. */
    private final int errno;

    /**
     * @param call  the call's name.
     * @param errno its errno.
     */
    public SystemCallException(final String call, final int errno)
    {
        super(call + " failed: " + Posix.errnoName(errno));
        this.errno = errno;
    }

    /** @return the errno. */
    public int errno()
    {
        return errno;
    }
}
