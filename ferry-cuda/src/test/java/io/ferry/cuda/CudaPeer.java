package io.ferry.cuda;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs {@link CudaPeerMain} in a child JVM; {@link #close()} makes sure it is gone. */
final class CudaPeer implements AutoCloseable
{
    final Process process;
    final byte[] metadata;
    private final BufferedReader out;
    private final PrintWriter in;

    CudaPeer(final String name, final int device, final long bytes) throws Exception
    {
        this(name, device, bytes, "CUDA", "VRAM");
    }

    CudaPeer(final String name, final int device, final long bytes, final String backend, final String kind)
        throws Exception
    {
        final Path md = Files.createTempFile("ferry-cuda-peer", ".md");
        process = new ProcessBuilder(List.of(ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            CudaPeerMain.class.getName(), name, Integer.toString(device), Long.toString(bytes), md.toString(), backend,
            kind))
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final String ready = command(null, 60);
        if (!"READY".equals(ready))
        {
            close();
            throw new IllegalStateException("CUDA peer did not start: " + ready);
        }
        metadata = Files.readAllBytes(md);
        Files.delete(md);
    }

    String command(final String command, final int timeoutSeconds) throws Exception
    {
        if (null != command)
        {
            in.println(command);
        }
        return CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return out.readLine();
            }
            catch (final java.io.IOException ex)
            {
                return null;
            }
        }).get(timeoutSeconds, TimeUnit.SECONDS);
    }

    public void close()
    {
        try
        {
            if (process.isAlive())
            {
                in.println("exit");
                if (!process.waitFor(10, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                }
            }
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
