/**
 * The LOCAL backend: copies between regions of agents that live in the same JVM (an agent's own regions, or
 * another in-process agent's published regions) with {@link java.lang.foreign.MemorySegment#copy}. It makes the
 * whole API usable and testable in one process and is the fastest path between co-located agents.
 */
package io.ferry.local;
