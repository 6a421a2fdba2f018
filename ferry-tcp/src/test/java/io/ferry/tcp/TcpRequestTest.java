package io.ferry.tcp;

import io.ferry.TransferOp;
import io.ferry.spi.ResolvedDescs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How a prepared request is cut into pieces and chunks, the tail included.
 */
@Timeout(10)
class TcpRequestTest
{
    private static final int MIB = 1 << 20;
    private static final int KIB = 1024;

    private final TcpRegion localRegion = new TcpRegion(1, 0x10_0000_0000L, 1L << 30, 0);
    private final TcpRemoteRegion remoteRegion = new TcpRemoteRegion("peer", 77, 0x20_0000_0000L, 1L << 30, false);

    private TcpRequest request(final long[] lengths, final int chunk, final long tail, final int tailChunk,
        final int maxPieces)
    {
        final ResolvedDescs local = new ResolvedDescs(lengths.length);
        final ResolvedDescs remote = new ResolvedDescs(lengths.length);
        long at = 0;
        for (final long length : lengths)
        {
            local.add(localRegion, at, length);
            remote.add(remoteRegion, (1L << 29) - at - length, length); // another order at the target
            at += length + 4096;
        }
        return new TcpRequest(TransferOp.WRITE, local, remote, "peer", null, chunk, tail, tailChunk, maxPieces);
    }

    private static List<Long> chunkBytes(final TcpRequest r)
    {
        final List<Long> sizes = new ArrayList<>();
        for (final Chunk c : r.chunks)
        {
            long sum = 0;
            for (int p = c.firstPiece; p < c.firstPiece + c.pieceCount; p++)
            {
                sum += r.pieceLength[p];
            }
            assertThat(sum).as("a chunk's bytes are its pieces'").isEqualTo(c.bytes);
            sizes.add(c.bytes);
        }
        return sizes;
    }

    @Test
    void aLargeRequestEndsInTailChunks()
    {
        final TcpRequest r = request(new long[] {64L * MIB}, MIB, 4L * MIB, 256 * KIB, 256);
        final List<Long> expected = new ArrayList<>();
        for (int i = 0; i < 60; i++)
        {
            expected.add((long)MIB);
        }
        for (int i = 0; i < 16; i++)
        {
            expected.add(256L * KIB);
        }
        assertThat(chunkBytes(r)).isEqualTo(expected);
        assertThat(r.totalBytes).isEqualTo(64L * MIB);
    }

    @Test
    void withoutATailEveryChunkButTheLastIsWhole()
    {
        final TcpRequest r = request(new long[] {10L * MIB + 5}, MIB, 0, 256 * KIB, 256);
        final List<Long> sizes = chunkBytes(r);
        assertThat(sizes).hasSize(11);
        assertThat(sizes.subList(0, 10)).containsOnly((long)MIB);
        assertThat(sizes.get(10)).isEqualTo(5L);
    }

    @Test
    void descriptorsAcrossTheTailStartAreCutThereAndEveryByteKeepsItsPlace()
    {
        // 37 descriptors of 300 KiB + 1 (so pieces straddle chunk and tail boundaries), 9 pieces per chunk at most
        final long[] lengths = new long[37];
        java.util.Arrays.fill(lengths, 300L * KIB + 1);
        final long total = 37L * (300L * KIB + 1);
        final long tail = 4L * MIB;
        final TcpRequest r = request(lengths, MIB, tail, 256 * KIB, 9);
        final List<Long> sizes = chunkBytes(r);

        long at = 0;
        boolean crossedTail = false;
        for (int i = 0; i < sizes.size(); i++)
        {
            final long size = sizes.get(i);
            final Chunk c = r.chunks[i];
            assertThat(c.pieceCount).isBetween(1, 9);
            if (at < total - tail)
            {
                assertThat(size).as("chunk " + i).isLessThanOrEqualTo(MIB);
                assertThat(at + size).as("chunk " + i + " ends at or before the tail's start")
                    .isLessThanOrEqualTo(total - tail);
            }
            else
            {
                crossedTail = true;
                assertThat(size).as("tail chunk " + i).isLessThanOrEqualTo(256L * KIB);
            }
            at += size;
        }
        assertThat(crossedTail).isTrue();
        assertThat(at).isEqualTo(total);

        // the pieces, in order, put together again are the descriptors, both sides
        int piece = 0;
        for (int d = 0; d < lengths.length; d++)
        {
            final long localStart = d * (lengths[0] + 4096);
            final long remoteStart = (1L << 29) - localStart - lengths[d];
            long covered = 0;
            while (covered < lengths[d])
            {
                assertThat(r.localRegion[piece]).isSameAs(localRegion);
                assertThat(r.remoteKey[piece]).isEqualTo(77);
                assertThat(r.localOffset[piece]).isEqualTo(localStart + covered);
                assertThat(r.remoteOffset[piece]).isEqualTo(remoteStart + covered);
                covered += r.pieceLength[piece];
                piece++;
            }
            assertThat(covered).as("descriptor " + d).isEqualTo(lengths[d]);
        }
        assertThat(piece).isEqualTo(r.pieceCount);
    }

    @Test
    void droppingARequestsWaitingChunksLeavesTheOthersInOrderWithTheirBytes()
    {
        final TcpRequest failed = request(new long[] {4L * MIB}, MIB, 0, MIB, 256);
        final TcpRequest other = request(new long[] {2L * MIB}, MIB, 0, MIB, 256);
        final PendingChunks pending = new PendingChunks();
        pending.addLast(failed.chunks[0]);
        pending.addLast(other.chunks[0]);
        pending.addLast(failed.chunks[1]);
        pending.addFirst(failed.chunks[2]);
        pending.addLast(other.chunks[1]);
        pending.removeAll(failed);
        assertThat(pending.bytes()).isEqualTo(2L * MIB);
        assertThat(pending.pollFirst()).isSameAs(other.chunks[0]);
        assertThat(pending.pollFirst()).isSameAs(other.chunks[1]);
        assertThat(pending.isEmpty()).isTrue();
        assertThat(pending.bytes()).isZero();
    }
}
