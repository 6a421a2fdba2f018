/**
 * The {@code ferry} command line: {@code ferry demo} shows the agent API end to end in one process.
 */
package io.ferry.cli;
