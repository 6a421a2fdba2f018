package io.ferry.tcp;

/**
 * A unit of work on a path: a data chunk of a request (a run of pieces, at most {@code chunk_size} bytes) or a
 * notification. Data chunks are made once per request and reused by every post.
 */
final class Chunk
{
    /** The request, or null for a standalone notification. */
    final TcpRequest request;
    final int firstPiece;
    final int pieceCount;
    /** Payload bytes (0 for a notification): what the chunk costs in a window. */
    final long bytes;
    /** Notification fields (null payload for a data chunk). */
    final short notifyKind;
    final byte[] notifyPayload;
    final String notifyReason;

    long id;
    long sentNs;
    /**
     * When this chunk was first written in its current post (0: not yet): its acknowledgement deadline counts from
     * here, whatever path it moves to, so a peer that stops answering fails the request at {@code ack_timeout_ms}.
     */
    long firstSentNs;
    /** The path's delivered bytes and time of latest delivery when this chunk was sent (see DeliveryRate). */
    long deliveredAtSend;
    long deliveredNsAtSend;
    int crcRetries;
    int post;

    Chunk(final TcpRequest request, final int firstPiece, final int pieceCount, final long bytes)
    {
        this.request = request;
        this.firstPiece = firstPiece;
        this.pieceCount = pieceCount;
        this.bytes = bytes;
        this.notifyKind = -1;
        this.notifyPayload = null;
        this.notifyReason = null;
        this.fencePath = -1;
        this.fenceGeneration = 0;
        this.fencedRequests = null;
        this.fencedPosts = null;
    }

    /** A FENCE: the path index and connection generation it abandons; null list for other chunks. */
    final int fencePath;
    final int fenceGeneration;
    /** The requests (and their posts) whose completion waits for this FENCE's acknowledgement. */
    final java.util.List<TcpRequest> fencedRequests;
    final int[] fencedPosts;

    /** A FENCE for path {@code path} of generation {@code generation}, holding back these requests' completion. */
    Chunk(final int path, final int generation, final java.util.List<TcpRequest> requests)
    {
        this.request = null;
        this.firstPiece = 0;
        this.pieceCount = 0;
        this.bytes = 0;
        this.notifyKind = -1;
        this.notifyPayload = null;
        this.notifyReason = null;
        this.fencePath = path;
        this.fenceGeneration = generation;
        this.fencedRequests = requests;
        this.fencedPosts = new int[requests.size()];
        for (int i = 0; i < fencedPosts.length; i++)
        {
            fencedPosts[i] = requests.get(i).post;
        }
    }

    Chunk(final TcpRequest request, final short kind, final byte[] payload, final String reason)
    {
        this.request = request;
        this.firstPiece = 0;
        this.pieceCount = 0;
        this.bytes = 0;
        this.notifyKind = kind;
        this.notifyPayload = payload;
        this.notifyReason = reason;
        this.fencePath = -1;
        this.fenceGeneration = 0;
        this.fencedRequests = null;
        this.fencedPosts = null;
    }

    boolean isFence()
    {
        return null != fencedRequests;
    }

    boolean isNotification()
    {
        return null != notifyPayload;
    }

    public String toString()
    {
        return isFence() ? "fence " + Long.toHexString(id) + " of path " + fencePath : isNotification() ?
            "notification " + Long.toHexString(id) :
            "chunk " + Long.toHexString(id) + " (" + pieceCount + " pieces, " + bytes + " B)";
    }
}
