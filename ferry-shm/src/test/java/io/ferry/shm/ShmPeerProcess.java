package io.ferry.shm;

import io.ferry.testing.ChildJvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@link ShmPeerMain} in a child JVM and talks to it; {@link #close()} makes sure the child is gone.
 */
final class ShmPeerProcess implements AutoCloseable
{
    final String name;
    final Process process;
    final byte[] metadata;
    private final ChildJvm child;

    /**
     * @param jvmFlags JVM flags (a host identity override, say).
     * @param launcher words before the java command (e.g. unshare), or none.
     */
    ShmPeerProcess(final String name, final long size, final Path dir, final String memory, final String backends,
        final List<String> jvmFlags, final List<String> launcher, final String... params) throws Exception
    {
        this.name = name;
        final Path md = dir.resolve(name + ".md");
        final List<String> args = new ArrayList<>(List.of(name, Long.toString(size), md.toString(), memory, backends));
        args.addAll(List.of(params));
        final List<String> flags = new ArrayList<>(List.of("-Xmx128m", "-XX:-UsePerfData"));
        flags.addAll(jvmFlags);
        child = new ChildJvm(launcher, flags, ShmPeerMain.class, args.toArray(new String[0]));
        process = child.process();
        final String ready = child.line(60);
        if (!"READY".equals(ready))
        {
            child.close();
            throw new IllegalStateException("peer " + name + " did not start: " + ready);
        }
        metadata = Files.readAllBytes(md);
    }

    ShmPeerProcess(final String name, final long size, final Path dir, final String memory, final String... params)
        throws Exception
    {
        this(name, size, dir, memory, "SHM", List.of(), List.of(), params);
    }

    List<String> command(final String command, final int timeoutSeconds) throws Exception
    {
        return child.command(command, timeoutSeconds);
    }

    long crc(final long offset, final long length) throws Exception
    {
        return Long.parseLong(command("crc " + offset + " " + length, 60).getFirst());
    }

    void kill() throws Exception
    {
        process.destroyForcibly();
        process.waitFor();
    }

    public void close()
    {
        child.close();
    }
}
