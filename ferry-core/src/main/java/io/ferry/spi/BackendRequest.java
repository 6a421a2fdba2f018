package io.ferry.spi;

/**
 * A backend's prepared request (NIXL's {@code nixlBackendReqH}): made once by
 * {@link Backend#prepare}, posted any number of times, one post at a time.
 */
public interface BackendRequest
{
}
