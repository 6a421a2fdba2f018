/**
 * JMH benchmarks of ferry's hot paths, each beside the baseline it is judged against.
 */
package io.ferry.bench;
