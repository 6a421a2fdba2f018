/**
 * The agent metadata blob: an agent's name, its backends' connection info and its regions' public data, in a
 * versioned binary format ({@link io.ferry.metadata.MetadataCodec} draws it). Decoding is hardened: hostile bytes
 * give a MISMATCH error, never another exception, an out-of-memory or a hang.
 * <p>
 * Also the embedded socket exchange: {@link io.ferry.metadata.MetadataListener} serves LOAD / FETCH / INVALIDATE
 * requests, {@link io.ferry.metadata.MetadataClient} sends them (frames drawn in {@code ExchangeFrames}); with a
 * shared secret both sides prove it first ({@code ExchangeAuth}). {@link io.ferry.metadata.RecordSeal} seals records
 * kept in a shared store such as etcd.
 */
package io.ferry.metadata;
