package io.ferry.cli;

/**
 * What moving one request's KV cache means for a model, in vLLM's block layout: one registered region per layer
 * and K/V tensor (MLA: per layer), each holding {@code blocks} blocks of {@code blockTokens} tokens; one descriptor
 * per (region, block); descriptor index = region x blockCount + block.
 *
 * @param model       the model.
 * @param tokens      prompt tokens.
 * @param blockTokens tokens per block.
 * @param tp          tensor-parallel ranks.
 * @param dtypeBytes  bytes per element (bf16: 2).
 */
record KvShape(KvModel model, int tokens, int blockTokens, int tp, int dtypeBytes)
{
    KvShape
    {
        if (tokens < 1 || blockTokens < 1 || tp < 1 || dtypeBytes < 1)
        {
            throw new IllegalArgumentException("tokens, block tokens, TP and dtype bytes must be positive");
        }
        if (!model.mla() && model.kvHeads() % tp != 0 && tp % model.kvHeads() != 0)
        {
            throw new IllegalArgumentException("TP " + tp + " does not divide " + model.kvHeads() + " KV heads");
        }
    }

    /** KV bytes per token over all layers and all ranks (K and V). */
    long bytesPerToken()
    {
        return model.mla() ? (long)model.layers() * model.headDim() * dtypeBytes :
            2L * model.layers() * model.kvHeads() * model.headDim() * dtypeBytes;
    }

    /** KV heads each rank holds (KV heads are replicated when TP exceeds them). */
    int headsPerRank()
    {
        return model.mla() ? 1 : Math.max(1, model.kvHeads() / tp);
    }

    /** Registered regions per rank. */
    int regions()
    {
        return model.mla() ? model.layers() : 2 * model.layers();
    }

    /** Bytes of one descriptor: one block of one region on one rank. */
    long descriptorBytes()
    {
        return (long)blockTokens * headsPerRank() * model.headDim() * dtypeBytes;
    }

    /** Blocks one request occupies. */
    int blocks()
    {
        return (tokens + blockTokens - 1) / blockTokens;
    }

    /** Descriptors one request moves per rank. */
    long descriptorsPerRank()
    {
        return (long)blocks() * regions();
    }

    /** Bytes one request moves per rank. */
    long bytesPerRank()
    {
        return descriptorsPerRank() * descriptorBytes();
    }

    /** Bytes one request moves over all ranks (MLA's KV is replicated, so each rank moves the same). */
    long bytesAllRanks()
    {
        return bytesPerRank() * tp;
    }
}
