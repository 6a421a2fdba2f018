/**
 * The connector API: ferry's high-level tier for inference servers, on top of {@link io.ferry.Agent}.
 * <p>
 * Two tiers, as real servers use them:
 * <ul>
 *     <li>One-off operations (Dynamo's {@code nixl_connect}): the side that owns memory makes it
 *     {@link io.ferry.connect.Connector#createReadable readable} or
 *     {@link io.ferry.connect.Connector#createWritable writable} and hands the resulting
 *     {@link io.ferry.connect.TransferMetadata} (JSON) to a peer by any channel; the peer
 *     {@link io.ferry.connect.Connector#beginRead begins a read} or
 *     {@link io.ferry.connect.Connector#beginWrite write}. Both sides hold an
 *     {@link io.ferry.connect.Operation} whose wait has a deadline; the passive side learns of completion by
 *     notification, and of failure by failure notification or by losing the peer's connections.</li>
 *     <li>Block pools (vLLM's KV connector): a KV cache registered once as regions x blocks
 *     ({@link io.ferry.connect.BlockPool}), a versioned {@link io.ferry.connect.PoolHandshake} whose compatibility
 *     hash rejects mismatched peers, transfers by block-id lists in one request, and
 *     {@link io.ferry.connect.BlockLease leases} on blocks held for a peer, extended by heartbeat, ended by the
 *     peer's release or by expiry, which is always reported.</li>
 * </ul>
 * The connector's control messages ride on agent notifications; their wire format is in
 * {@link io.ferry.connect.ControlMessage}.
 */
package io.ferry.connect;
