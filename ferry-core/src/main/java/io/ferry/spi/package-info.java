/**
 * The backend SPI: what a transport (LOCAL, TCP, SHM, FILE, CUDA, UCX) implements to move bytes for an agent.
 * Mirrors NIXL's {@code nixlBackendEngine}. Providers are found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.ferry.spi.BackendProvider}).
 * <p>
 * The agent does the bookkeeping (registrations, peers, descriptor resolution and merging, request state); a
 * backend registers memory, publishes and loads per-region keys, and moves resolved spans. Backends complete
 * requests through the {@link io.ferry.spi.TransferSink} they were handed, from any thread, so no caller needs to
 * poll for progress; they own their threads and stop them in {@link io.ferry.spi.Backend#close()}.
 */
package io.ferry.spi;
