/**
 * The agent metadata blob: an agent's name, its backends' connection info and its regions' public data, in a
 * versioned binary format ({@link io.ferry.metadata.MetadataCodec} draws it). Decoding is hardened: hostile bytes
 * give a MISMATCH error, never another exception, an out-of-memory or a hang.
 */
package io.ferry.metadata;
