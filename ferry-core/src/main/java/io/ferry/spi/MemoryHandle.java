package io.ferry.spi;

/**
 * A backend's opaque handle to a region: one it registered locally, or a peer's region it loaded from metadata.
 * The agent stores it and hands it back inside {@link ResolvedDescs}; only the backend that made it looks inside.
 */
public interface MemoryHandle
{
}
