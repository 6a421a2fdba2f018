/**
 * Building blocks shared by the agent and backends: the region index, the match-and-wait queue
 * ({@link io.ferry.internal.MatchQueue}), HMAC-SHA256 for every plane's challenge-response
 * ({@link io.ferry.internal.Hmac}) and the log throttle for what strangers can trigger
 * ({@link io.ferry.internal.LogThrottle}). Not part of the public API; may change without notice.
 */
package io.ferry.internal;
