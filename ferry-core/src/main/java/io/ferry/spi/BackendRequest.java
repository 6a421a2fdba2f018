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
}
