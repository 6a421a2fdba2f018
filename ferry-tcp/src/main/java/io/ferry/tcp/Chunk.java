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
    }

    boolean isNotification()
    {
        return null != notifyPayload;
    }

    public String toString()
    {
        return isNotification() ? "notification " + Long.toHexString(id) :
            "chunk " + Long.toHexString(id) + " (" + pieceCount + " pieces, " + bytes + " B)";
    }
}
