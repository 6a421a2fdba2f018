package io.ferry.connect;

import io.ferry.FerryException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;

/**
 * The shape of a KV cache registered as a {@link BlockPool}: {@code regions} equal regions (one per layer and K/V
 * tensor in vLLM's layout), each cut into {@code blockCount} blocks of {@code blockBytes}. Block {@code b} of
 * region {@code r} is descriptor {@code r * blockCount + b}.
 * <p>
 * Two pools can exchange blocks when their {@link #compatibilityHash() compatibility hashes} match: the same tag
 * (model, dtype, tensor layout, TP rank layout: whatever the application puts in it), the same region count and
 * the same block size. Block counts may differ (a decoder often has more blocks than a prefiller).
 *
 * @param tag        what the blocks hold, e.g. "llama-3.1-70b/bf16/NHD/tp1"; compared exactly.
 * @param regions    regions (layers x K/V), positive.
 * @param blockCount blocks per region, positive.
 * @param blockBytes bytes per block, positive.
 */
public record BlockLayout(String tag, int regions, int blockCount, long blockBytes)
{
    /**
     * @param tag        what the blocks hold.
     * @param regions    regions, positive.
     * @param blockCount blocks per region, positive.
     * @param blockBytes bytes per block, positive.
     */
    public BlockLayout
    {
        Objects.requireNonNull(tag, "tag");
        if (tag.isEmpty() || tag.length() > 1024)
        {
            throw FerryException.invalid("block layout tag must be 1 to 1024 characters, got " + tag.length());
        }
        if (regions <= 0 || blockCount <= 0 || blockBytes <= 0)
        {
            throw FerryException.invalid("block layout needs positive regions, block count and block size, got " +
                regions + " x " + blockCount + " x " + blockBytes + " B");
        }
        if ((long)regions * blockCount > Integer.MAX_VALUE)
        {
            throw FerryException.invalid("block layout of " + regions + " regions x " + blockCount +
                " blocks has more than " + Integer.MAX_VALUE + " descriptors");
        }
    }

    /**
     * @return bytes of one region.
     */
    public long regionBytes()
    {
        return blockBytes * blockCount;
    }

    /**
     * @return the first 8 bytes of SHA-256 over the tag, the region count and the block size.
     */
    public long compatibilityHash()
    {
        try
        {
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(tag.getBytes(StandardCharsets.UTF_8));
            sha.update(ByteBuffer.allocate(12).putInt(regions).putLong(blockBytes).array());
            return ByteBuffer.wrap(sha.digest()).getLong();
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("SHA-256 is missing from this JDK", ex);
        }
    }
}
