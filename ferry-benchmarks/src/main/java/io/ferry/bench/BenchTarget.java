package io.ferry.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The target side of a two-process benchmark: a child JVM on this class path running {@code main target METADATA
 * args...}, which writes its agent's metadata to a file and prints READY; closing stops it (its stdin closes).
 * {@code FERRY_BENCH_TARGET_JAVA_OPTS} adds JVM flags, {@code FERRY_BENCH_TARGET_CPUS} pins it with taskset.
 */
final class BenchTarget implements AutoCloseable
{
    private final Process child;
    private final Path metadata;

    /**
     * Starts the child and waits for READY.
     *
     * @param main the benchmark class (its main takes "target" first).
     * @param args what follows the metadata file.
     */
    BenchTarget(final Class<?> main, final List<String> args) throws IOException
    {
        metadata = Files.createTempFile("ferry-bench", ".md");
        final List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
            main.getName(), "target", metadata.toString()));
        cmd.addAll(args);
        final String childOpts = System.getenv("FERRY_BENCH_TARGET_JAVA_OPTS");
        if (null != childOpts && !childOpts.isBlank())
        {
            cmd.addAll(1, Arrays.asList(childOpts.trim().split("\\s+")));
        }
        final String targetCpus = System.getenv("FERRY_BENCH_TARGET_CPUS");
        if (null != targetCpus && !targetCpus.isBlank())
        {
            cmd.addAll(0, List.of("taskset", "-c", targetCpus.trim())); // the target on CPUs of its own
        }
        child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        final BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
            StandardCharsets.UTF_8));
        String line;
        while (null != (line = out.readLine()) && !"READY".equals(line))
        {
            System.err.println("target: " + line);
        }
        if (null == line)
        {
            close();
            throw new IllegalStateException("target did not start");
        }
    }

    /**
     * The child's side: registers {@code bytes} of memory from the arena (filled with 1s) with the agent, writes the
     * agent's metadata to {@code metadata}, prints READY and serves until its stdin closes.
     *
     * @param metadata where the parent reads the metadata.
     * @param arena    where the memory comes from.
     * @param agent    the target agent.
     * @param bytes    how much memory.
     */
    static void serve(final Path metadata, final java.lang.foreign.Arena arena, final io.ferry.Agent agent,
        final long bytes) throws IOException
    {
        final java.lang.foreign.MemorySegment mem = arena.allocate(bytes, 4096);
        mem.fill((byte)1);
        agent.register(io.ferry.MemoryKind.DRAM, List.of(io.ferry.Region.of(mem)));
        Files.write(metadata, agent.localMetadata());
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }

    /**
     * The initiator's side: loads the target's metadata into the agent, registers {@code bytes} of local memory
     * from the arena (filled with 2s) and connects.
     *
     * @return the target's name, the address of its region and the local memory.
     */
    Connected connect(final io.ferry.Agent agent, final java.lang.foreign.Arena arena, final long bytes)
        throws IOException
    {
        final byte[] md = metadata();
        final String peer = agent.loadRemoteMetadata(md);
        final long remote = io.ferry.metadata.MetadataCodec.decode(md).regions().getFirst().address();
        final java.lang.foreign.MemorySegment local = arena.allocate(bytes, 4096);
        local.fill((byte)2);
        agent.register(io.ferry.MemoryKind.DRAM, List.of(io.ferry.Region.of(local)));
        agent.connect(peer);
        return new Connected(peer, remote, local);
    }

    /**
     * @param peer   the target agent's name.
     * @param remote the address of the target's region.
     * @param local  the initiator's registered memory.
     */
    record Connected(String peer, long remote, java.lang.foreign.MemorySegment local)
    {
    }

    /** @return the target agent's metadata. */
    byte[] metadata() throws IOException
    {
        return Files.readAllBytes(metadata);
    }

    public void close() throws IOException
    {
        child.getOutputStream().close();
        try
        {
            child.waitFor();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            child.destroyForcibly();
        }
        Files.deleteIfExists(metadata);
    }
}
