/**
 * The UCX backend ({@code UCX}): ferry's API, deadlines, notifications and metadata over UCX's UCP layer, so that
 * ferry runs at UCX's speed on whatever transport UCX finds — InfiniBand and RoCE where the host has RDMA devices,
 * shared memory between processes of one host, TCP otherwise.
 * <p>
 * <b>Bindings.</b> FFM downcalls to the host's {@code libucp.so.0} ({@link io.ferry.ucx.Ucp}); no JNI, no jar to
 * match against the installed UCX. UCX 1.10 or newer; absent UCX makes the backend unavailable with the reason.
 * <p>
 * <b>Threads.</b> One worker thread per agent ({@link io.ferry.ucx.UcxWorker}) creates the UCP context and
 * worker and makes every UCX call ({@code UCS_THREAD_MODE_SINGLE}); callers queue work and wake it with
 * {@code ucp_worker_signal}. Idle, it sleeps on UCX's event fd; {@code progress=spin} keeps it polling.
 * <p>
 * <b>Transfers.</b> Registration maps memory ({@code ucp_mem_map}) and publishes the packed rkey; the agent's
 * connection info carries the worker address ({@link io.ferry.ucx.UcxWire}). A post is one {@code ucp_put_nbx}
 * (WRITE) or {@code ucp_get_nbx} (READ) per span, then {@code ucp_ep_flush_nbx}; when the flush completes, the
 * notification goes as an eager active message, so the target never sees it before the data. Endpoints use
 * UCX's peer error handling: a peer that fails ends its posts with REMOTE_DISCONNECT and the agent drops it; a
 * post not complete within {@code timeout_ms} does the same and closes the endpoint.
 * <p>
 * <b>Trust.</b> UCX does not authenticate its transports. A peer reaches only regions whose packed rkey it was
 * given in metadata (which ferry's metadata plane authenticates when a secret is set), but the UCX data path
 * itself carries no ferry secret; notifications name their sender in the clear. See docs/security.md.
 */
package io.ferry.ucx;
