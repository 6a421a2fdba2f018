/**
 * Metadata exchange through etcd, for clusters: {@link io.ferry.etcd.EtcdMetadata} publishes an agent's metadata
 * under {@code <namespace>/agents/<name>/<label>} bound to a lease it keeps alive (a crashed agent disappears
 * within the lease's TTL), fetches peers' metadata with a deadline, and watches loaded peers so that a deletion or
 * lease expiry invalidates them everywhere, new regions merge, and changed connection info reconnects.
 * <p>
 * The client speaks etcd's v3 JSON gateway over the JDK's {@link java.net.http.HttpClient} (etcd 3.4 and later),
 * which keeps the dependency to one JSON library instead of jetcd's gRPC, Netty, Vert.x and Guava.
 */
package io.ferry.etcd;
