package io.ferry.cuda;

import io.ferry.testing.ChildJvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Runs {@link CudaPeerMain} in a child JVM; {@link #close()} makes sure it is gone. */
final class CudaPeer implements AutoCloseable
{
    final Process process;
    final byte[] metadata;
    private final ChildJvm child;

    CudaPeer(final String name, final int device, final long bytes) throws Exception
    {
        this(name, device, bytes, "CUDA", "VRAM");
    }

    CudaPeer(final String name, final int device, final long bytes, final String backend, final String kind)
        throws Exception
    {
        final Path md = Files.createTempFile("ferry-cuda-peer", ".md");
        child = new ChildJvm(List.of(), CudaPeerMain.class, name, Integer.toString(device), Long.toString(bytes),
            md.toString(), backend, kind);
        process = child.process();
        final String ready = child.line(60);
        if (!"READY".equals(ready))
        {
            close();
            throw new IllegalStateException("CUDA peer did not start: " + ready);
        }
        metadata = Files.readAllBytes(md);
        Files.delete(md);
    }

    /** Sends a command and returns its one-line answer. */
    String command(final String command, final int timeoutSeconds) throws Exception
    {
        child.send(command);
        return child.line(timeoutSeconds);
    }

    public void close()
    {
        child.close();
    }
}
