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
    /** Per device of {@link #devices}: its spans as native arrays for one batched call, or null (single copies). */
    final Batch[] batches;
    /** Per device of {@link #devices}: whether this launch queued its spans in one call (reused, no allocation). */
    final boolean[] batched;
    /** Per span: whether it belongs to its device's copy kernel table. */
    final boolean[] viaKernel;
    /** Per device of {@link #devices}: the copy kernel's table of its spans, or null (driver copies). */
    final CopyKernel.Table[] kernels;
    /** Per device of {@link #devices}: whether this launch queued its kernel (reused, no allocation). */
    final boolean[] launched;
    /** The backend's kernel, to hand the tables back on {@link #release()}; null when there are none. */
    CopyKernel kernel;
    byte[] notification;
    volatile boolean inFlight;

    /**
     * A device's spans laid out for {@code cuMemcpyBatchAsync}: destination, source and size arrays and one
     * attributes record (stream order, device location hints), built once per request, reused by every post.
     *
     * @param dsts      destination addresses.
     * @param srcs      source addresses.
     * @param sizes     byte counts.
     * @param attrs     the one attributes record.
     * @param attrIndex the index array pointing every span at it.
     * @param count     spans.
     */
    record Batch(MemorySegment dsts, MemorySegment srcs, MemorySegment sizes, MemorySegment attrs,
        MemorySegment attrIndex, long count)
    {
    }

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
        this.batches = new Batch[devices.length];
        this.batched = new boolean[devices.length];
        this.viaKernel = new boolean[len.length];
        this.kernels = new CopyKernel.Table[devices.length];
        this.launched = new boolean[devices.length];
    }

    public String route()
    {
        for (final CopyKernel.Table t : kernels)
        {
            if (null != t)
            {
                return "copy kernel";
            }
        }
        return null;
    }

    public void release()
    {
        if (null != kernel)
        {
            for (final CopyKernel.Table t : kernels)
            {
                if (null != t)
                {
                    kernel.release(t);
                }
            }
        }
    }
}
