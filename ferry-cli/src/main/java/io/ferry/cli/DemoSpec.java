package io.ferry.cli;

import io.ferry.connect.BlockLayout;

import java.util.Random;

/**
 * What the demo moves: a batch of requests of one model's KV cache, in vLLM's block layout (one region per layer
 * and K/V tensor), and how (pull: the decoder reads, as vLLM's NIXL connector does; push: the prefiller writes).
 *
 * @param shape    one request's KV geometry.
 * @param requests requests in the batch.
 * @param pull     true: decode READs; false: prefill WRITEs with a notification per request.
 * @param timeout  the most any one step waits for the other worker.
 * @param backends the workers' backends, in order of preference (SHM before TCP: same host first).
 */
record DemoSpec(KvShape shape, int requests, boolean pull, java.time.Duration timeout, java.util.List<String> backends)
{
    /** @return where the KV lives: a ShmArena when SHM may carry it (peers map it once), else ordinary memory. */
    java.lang.foreign.Arena hostArena()
    {
        return backends.contains("SHM") ? io.ferry.shm.ShmArena.open() : java.lang.foreign.Arena.ofShared();
    }

    int blocksPerRequest()
    {
        return shape.blocks();
    }

    /** Both pools hold the whole batch. */
    BlockLayout layout()
    {
        return new BlockLayout(shape.model().name() + "/" + (2 == shape.dtypeBytes() ? "bf16" : "fp" +
            8 * shape.dtypeBytes()) + "/NHD/tp" + shape.tp() + "/bt" + shape.blockTokens(), shape.regions(),
            requests * blocksPerRequest(), shape.descriptorBytes());
    }

    long bytesPerRequest()
    {
        return (long)shape.regions() * blocksPerRequest() * shape.descriptorBytes();
    }

    /** Block ids of each request: a seeded shuffle of the pool, so no request's blocks are contiguous. */
    int[][] blockIds(final long seed)
    {
        final int total = requests * blocksPerRequest();
        final int[] all = new int[total];
        for (int i = 0; i < total; i++)
        {
            all[i] = i;
        }
        final Random rnd = new Random(seed);
        for (int i = total - 1; i > 0; i--)
        {
            final int j = rnd.nextInt(i + 1);
            final int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        final int[][] out = new int[requests][];
        for (int r = 0; r < requests; r++)
        {
            out[r] = java.util.Arrays.copyOfRange(all, r * blocksPerRequest(), (r + 1) * blocksPerRequest());
        }
        return out;
    }

    static String ids(final int[] ids)
    {
        final StringBuilder b = new StringBuilder(ids.length * 5);
        for (int i = 0; i < ids.length; i++)
        {
            b.append(0 == i ? "" : ",").append(ids[i]);
        }
        return b.toString();
    }

    static int[] parseIds(final String text)
    {
        final String[] parts = text.split(",");
        final int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++)
        {
            out[i] = Integer.parseInt(parts[i]);
        }
        return out;
    }
}
