package io.ferry.file;

/**
 * Runs the I/Os of posted FILE requests and reports each request's end to the backend.
 */
interface IoEngine extends AutoCloseable
{
    /** Where an engine reports a request whose I/Os (and syncs) all ended. */
    interface Finisher
    {
        void finished(FileRequest request);
    }

    /** @return "io_uring" or "POSIX", for telemetry and messages. */
    String name();

    /**
     * Starts a request's I/Os; {@code request.remaining} is set to its I/O count.
     */
    void submit(FileRequest request);

    /** Stops the threads; requests in flight end first. */
    void close();
}
