/**
 * Prometheus metrics of ferry agents: {@link io.ferry.metrics.FerryMetrics} observes agents (as an
 * {@link io.ferry.AgentObserver}) and serves the Prometheus text format over HTTP.
 */
package io.ferry.metrics;
