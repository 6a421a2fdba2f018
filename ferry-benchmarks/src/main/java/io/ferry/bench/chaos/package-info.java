/**
 * The chaos suite ({@code bench/chaos/run}): {@link io.ferry.bench.chaos.ChaosSuite} does to target processes
 * ({@link io.ferry.bench.chaos.ChaosTarget}, driven through {@link io.ferry.bench.chaos.ChaosProcess}) what
 * production does — kills, freezes, restarts, a flapping link, long idle, a lost etcd, connection floods, a soak —
 * and measures each against its goal, checking every byte moved.
 */
package io.ferry.bench.chaos;
