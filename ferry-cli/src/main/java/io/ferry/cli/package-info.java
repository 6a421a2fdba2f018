/**
 * The {@code ferry} command line: {@code ferry demo} shows the agent API end to end in one process;
 * {@code ferry kvbench} moves a model's KV cache in vLLM's block layout (or prints its sizes).
 */
package io.ferry.cli;
