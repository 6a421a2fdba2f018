package io.ferry.local;

import io.ferry.TransferOp;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.util.concurrent.atomic.AtomicReference;

/**
 * A prepared LOCAL request: the resolved spans plus the distinct target regions to check on each post.
 */
final class LocalRequest implements BackendRequest
{
    final TransferOp op;
    final ResolvedDescs local;
    final ResolvedDescs remote;
    final String peer;
    final LocalBackend target;
    final LocalMemory[] targetRegions;
    final TransferSink sink;
    /** Set while a post waits for or runs on a copy thread (async mode only). */
    final AtomicReference<Object> pending = new AtomicReference<>();

    LocalRequest(
        final TransferOp op,
        final ResolvedDescs local,
        final ResolvedDescs remote,
        final String peer,
        final LocalBackend target,
        final LocalMemory[] targetRegions,
        final TransferSink sink)
    {
        this.op = op;
        this.local = local;
        this.remote = remote;
        this.peer = peer;
        this.target = target;
        this.targetRegions = targetRegions;
        this.sink = sink;
    }
}
