package io.ferry.tcp;

import io.ferry.testing.ChildJvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@link PeerMain} in a child JVM and talks to it; {@link #close()} makes sure the child is gone.
 */
final class PeerProcess implements AutoCloseable
{
    final String name;
    final Process process;
    final byte[] metadata;
    private final ChildJvm child;

    PeerProcess(final String name, final long size, final Path dir, final String... params) throws Exception
    {
        this.name = name;
        final Path md = dir.resolve(name + ".md");
        final List<String> args = new ArrayList<>(List.of(name, Long.toString(size), md.toString()));
        args.addAll(List.of(params));
        child = new ChildJvm(List.of("-Xmx256m"), PeerMain.class, args.toArray(new String[0]));
        process = child.process();
        final String ready = child.line(30);
        if (!"READY".equals(ready))
        {
            child.close();
            throw new IllegalStateException("peer " + name + " did not start: " + ready);
        }
        metadata = Files.readAllBytes(md);
    }

    /** Sends a command and returns its output lines before OK. */
    List<String> command(final String command, final int timeoutSeconds) throws Exception
    {
        return child.command(command, timeoutSeconds);
    }

    long crc(final long offset, final long length) throws Exception
    {
        return Long.parseLong(command("crc " + offset + " " + length, 60).getFirst());
    }

    void signal(final String signal) throws Exception
    {
        new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    public void close()
    {
        child.close();
    }
}
