/**
 * Test support every module shares and that needs nothing of ferry: {@link io.ferry.testing.ChildJvm} (a test's
 * peer in a child JVM, driven by lines, always reaped) and {@link io.ferry.testing.TestData} (permutations, seeded
 * bytes, byte comparison). Fixtures that need ferry's types ({@code io.ferry.Fixtures}, the SPI's
 * {@code io.ferry.FakeBackend}) live in ferry-core's test-jar, because ferry-core's own tests use this module.
 */
package io.ferry.testing;
