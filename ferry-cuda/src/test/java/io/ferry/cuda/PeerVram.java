package io.ferry.cuda;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.Fixtures;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The set-up the cross-process GPU tests share: VRAM on GPU 0 here, registered with an agent of one backend, and a
 * child process with VRAM of the same size (on GPU 1 when there are two) whose metadata the agent has loaded.
 * Needs a GPU ({@link Gpu#require()}); {@link #close()} ends the child, the agent and frees the memory.
 */
final class PeerVram implements AutoCloseable
{
    final long size;
    final int peerDevice;
    final long mine;
    final Arena arena;
    final CudaPeer peer;
    final Agent agent;
    /** The child agent's name. */
    final String name;
    /** The child's VRAM, as its metadata publishes it. */
    final long theirs;

    /**
     * @param prefix  name prefix of both agents.
     * @param backend the backend both sides use (CUDA or TCP).
     * @param size    bytes of VRAM on each side.
     * @throws Exception when the child does not start.
     */
    PeerVram(final String prefix, final String backend, final long size) throws Exception
    {
        Gpu.require();
        this.size = size;
        this.peerDevice = Gpu.devices() > 1 ? 1 : 0;
        this.mine = Gpu.alloc(0, size);
        this.arena = Arena.ofConfined();
        CudaPeer started = null;
        Agent made = null;
        try
        {
            started = new CudaPeer(Fixtures.unique(prefix + "-child"), peerDevice, size, backend, "VRAM");
            made = Agent.create(AgentConfig.builder(Fixtures.unique(prefix + "-parent")).backends(backend).build());
            made.register(MemoryKind.VRAM, List.of(Region.ofAddress(mine, size, 0)));
            this.name = made.loadRemoteMetadata(started.metadata);
            this.theirs = made.peerRegions(name, MemoryKind.VRAM).address(0);
        }
        catch (final Exception | Error ex)
        {
            if (null != made)
            {
                made.close();
            }
            if (null != started)
            {
                started.close();
            }
            arena.close();
            Gpu.free(0, mine);
            throw ex;
        }
        this.peer = started;
        this.agent = made;
    }

    /** @return all of this side's VRAM as one descriptor. */
    DescList local()
    {
        return DescList.of(MemoryKind.VRAM, new MemoryDesc(mine, size, 0));
    }

    /** @return all of the child's VRAM as one descriptor. */
    DescList remote()
    {
        return DescList.of(MemoryKind.VRAM, new MemoryDesc(theirs, size, peerDevice));
    }

    /**
     * READs all of the child's VRAM into this side's in one transfer and checks the bytes against the child's CRC.
     *
     * @param backend the backend the transfer must have chosen.
     * @param timeout the most to wait for it.
     * @return a host copy of what was read.
     * @throws Exception when the child does not answer.
     */
    MemorySegment readAllAndCheck(final String backend, final Duration timeout) throws Exception
    {
        final Transfer read = agent.createTransfer(TransferOp.READ, local(), remote(), name, TransferOptions.NONE);
        assertThat(read.backend()).isEqualTo(backend);
        read.post();
        read.await(timeout);
        final MemorySegment host = arena.allocate(size, 4096);
        Gpu.download(0, host, mine);
        assertThat(Gpu.crc(host)).isEqualTo(Long.parseLong(peer.command("crc", 30)));
        return host;
    }

    public void close()
    {
        try
        {
            agent.close();
            peer.close();
            arena.close();
        }
        finally
        {
            Gpu.free(0, mine);
        }
    }
}
