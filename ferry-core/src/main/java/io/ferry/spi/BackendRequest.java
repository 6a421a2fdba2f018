package io.ferry.spi;

/**
 * A backend's prepared request (NIXL's {@code nixlBackendReqH}): made once by
 * {@link Backend#prepare}, posted any number of times, one post at a time.
 */
public interface BackendRequest
{
    /**
     * @return how the backend moves this request's bytes, for {@link io.ferry.TransferTelemetry#route()} (the FILE
     * backend: "io_uring, O_DIRECT"), or null when there is nothing to say.
     */
    default String route()
    {
        return null;
    }

    /**
     * The request will not be posted again ({@link io.ferry.Transfer#close()}): what the backend keeps for it
     * (device-side tables, native arrays) can go. Called once, never while a post is in progress; a request
     * dropped without a close must not leak either, so a backend that holds anything native for a request also
     * notices when it becomes unreachable.
     */
    default void release()
    {
    }
}
