package io.ferry.contract;

import io.ferry.testing.ChildJvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@link ContractPeerMain} in a child JVM and talks to it; {@link #close()} makes sure the child is gone.
 */
public final class ContractPeer implements AutoCloseable
{
    /** The peer agent's name. */
    public final String name;
    /** The child process. */
    public final Process process;
    /** The peer's metadata. */
    public final byte[] metadata;
    private final ChildJvm child;

    /**
     * @param name    the peer agent's name.
     * @param size    bytes of its one registered region.
     * @param dir     where metadata files go.
     * @param backend its backend.
     * @param params  the backend's parameters as key=value.
     * @throws Exception when it does not start.
     */
    public ContractPeer(final String name, final long size, final Path dir, final String backend,
        final String... params) throws Exception
    {
        this.name = name;
        final Path md = dir.resolve(name + ".md");
        final List<String> args = new ArrayList<>(List.of(name, Long.toString(size), md.toString(), backend));
        args.addAll(List.of(params));
        child = new ChildJvm(List.of("-Xmx256m"), ContractPeerMain.class, args.toArray(new String[0]));
        process = child.process();
        final String ready = child.line(30);
        if (!"READY".equals(ready))
        {
            child.close();
            throw new IllegalStateException("peer " + name + " did not start: " + ready);
        }
        metadata = Files.readAllBytes(md);
    }

    /**
     * @param command        a command line.
     * @param timeoutSeconds the most to wait for its OK.
     * @return its output lines before OK.
     * @throws Exception when it fails or times out.
     */
    public List<String> command(final String command, final int timeoutSeconds) throws Exception
    {
        return child.command(command, timeoutSeconds);
    }

    /**
     * @param offset where in the peer's region.
     * @param length how many bytes.
     * @return their CRC-32C, computed by the peer.
     * @throws Exception when the peer fails.
     */
    public long crc(final long offset, final long length) throws Exception
    {
        return Long.parseLong(command("crc " + offset + " " + length, 60).getFirst());
    }

    /**
     * @param signal a signal name for kill(1), e.g. STOP.
     * @throws Exception when kill fails to run.
     */
    public void signal(final String signal) throws Exception
    {
        new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    public void close()
    {
        child.close();
    }
}
