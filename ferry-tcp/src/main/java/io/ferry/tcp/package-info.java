/**
 * The TCP backend: one-sided READ and WRITE of registered DRAM between agents in different processes or hosts.
 * <p>
 * A transfer is cut into chunks (default 1 MiB, each up to {@code max_spans_per_chunk} descriptor pieces, so
 * thousands of small descriptors travel in few frames); chunks are sprayed over several TCP connections per peer
 * ("paths", each optionally bound to its own local address), each path holding at most its congestion window of
 * unacknowledged bytes. The window follows measured chunk round-trip time (Swift-like, {@link
 * io.ferry.tcp.SwiftController}), and a new chunk or READ sub-request goes to the path expected to deliver it first
 * from that path's measured delivery rate in its direction. Every such decision is {@link
 * io.ferry.tcp.LinkScheduler}'s, which has no sockets or threads and takes the clock as a parameter; {@link
 * io.ferry.tcp.PeerLink} is the shell that does the I/O around it. Bytes move between the socket and the
 * registered segments with scatter/gather I/O ({@link io.ferry.tcp.PayloadIo}), never through heap arrays. A dead path's
 * unacknowledged chunks are resent on the others; the wire format is drawn in {@link io.ferry.tcp.Frames} (every
 * frame a whole number of 64-byte units, payloads on a unit boundary, so that the kernel copies them aligned).
 */
package io.ferry.tcp;
