/**
 * The ferry agent API: register memory, exchange metadata, move bytes one-sided (READ / WRITE) between agents,
 * and deliver notifications once the bytes are in place.
 * <p>
 * Entry points: {@link io.ferry.AgentConfig} to describe an agent, {@link io.ferry.Agent#create(AgentConfig)} to
 * start one. Every method of {@link io.ferry.Agent}, {@link io.ferry.Transfer} and {@link io.ferry.Registration}
 * may be called from any thread. Errors are {@link io.ferry.FerryException}s carrying an {@link io.ferry.ErrorCode}.
 */
package io.ferry;
