package io.ferry.cuda;

import io.ferry.TransferOp;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.TransferSink;

import java.lang.foreign.MemorySegment;

/**
 * A prepared CUDA request: per span the source and destination addresses in this process, the length, and the
 * device whose stream copies it (-1: both sides are host memory, copied on the posting thread). Built once, posted
 * any number of times.
 */
final class CudaRequest implements BackendRequest
{
    final TransferOp op;
    final String peer;
    final TransferSink sink;
    final long[] src;
    final long[] dst;
    final long[] len;
    final int[] device;
    /** The distinct devices the spans use, in order. */
    final int[] devices;
    /** One event per device of {@link #devices} while a post runs. */
    final MemorySegment[] events;
    byte[] notification;
    volatile boolean inFlight;

    CudaRequest(final TransferOp op, final String peer, final TransferSink sink, final long[] src, final long[] dst,
        final long[] len, final int[] device, final int[] devices)
    {
        this.op = op;
        this.peer = peer;
        this.sink = sink;
        this.src = src;
        this.dst = dst;
        this.len = len;
        this.device = device;
        this.devices = devices;
        this.events = new MemorySegment[devices.length];
    }
}
