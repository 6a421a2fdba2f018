package io.ferry.ucx;

import io.ferry.TransferOp;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.TransferSink;

/**
 * A prepared UCX transfer: for each span, the local region (its memory handle), the local address, the peer's
 * region (its rkey) and the remote address, in parallel arrays read by the worker thread on every post.
 */
final class UcxRequest implements BackendRequest
{
    final TransferOp op;
    final UcxPeer peer;
    final TransferSink sink;
    final UcxLocalRegion[] localRegions;
    final long[] localAddresses;
    final UcxRemoteRegion[] remoteRegions;
    final long[] remoteAddresses;
    final long[] lengths;

    UcxRequest(final TransferOp op, final UcxPeer peer, final TransferSink sink, final int spans)
    {
        this.op = op;
        this.peer = peer;
        this.sink = sink;
        this.localRegions = new UcxLocalRegion[spans];
        this.localAddresses = new long[spans];
        this.remoteRegions = new UcxRemoteRegion[spans];
        this.remoteAddresses = new long[spans];
        this.lengths = new long[spans];
    }

    public String route()
    {
        return "UCX " + (TransferOp.WRITE == op ? "put" : "get") + " + flush";
    }
}
