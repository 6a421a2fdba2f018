/**
 * Building blocks shared by the agent and backends; not part of the public API and may change without notice.
 */
package io.ferry.internal;
