package io.ferry.shm;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.internal.Posix;
import io.ferry.samehost.SameHostChannel;
import io.ferry.internal.SystemCallException;

import java.util.ArrayList;
import java.util.List;

/**
 * What SHM knows of one same-host peer: where its channel listens, its process, whether cross-memory attach
 * reaches it, and the mappings of its memory files made here. Mappings are released only when no transfer uses
 * them: a transfer holds the peer ({@link #acquire}) from post to end, and a lost or forgotten peer's mappings go
 * when the last one lets go.
 */
final class ShmPeer
{
    final String name;
    /** Its channel's socket name; null for this agent itself. */
    final String socketAddress;
    /** The pid it declared. */
    final int declaredPid;
    /** An SHM backend of this process (its regions are reached directly), or null. */
    final ShmBackend inProcess;
    /** Null when cross-memory attach reaches it, else why not. */
    final String crossMemoryRefusal;
    private final List<long[]> mappings = new ArrayList<>();
    /** Its regions reached through their memory files, mapped on first use or at {@code connect}. */
    final List<ShmPeerRegion> sharedRegions = new java.util.concurrent.CopyOnWriteArrayList<>();
    private int users;
    private String lostReason;
    private boolean released;
    /** The pid the kernel reports for the authenticated connection (0 before it is made). */
    volatile int verifiedPid;

    ShmPeer(final String name, final String socketAddress, final int declaredPid, final ShmBackend inProcess,
        final String crossMemoryRefusal)
    {
        this.name = name;
        this.socketAddress = socketAddress;
        this.declaredPid = declaredPid;
        this.inProcess = inProcess;
        this.crossMemoryRefusal = crossMemoryRefusal;
    }

    boolean self()
    {
        return null == socketAddress;
    }

    /** @return null when a transfer may use the peer (it must then {@link #release}), else why not. */
    synchronized String acquire()
    {
        if (null != lostReason)
        {
            return lostReason;
        }
        users++;
        return null;
    }

    synchronized void release()
    {
        users--;
        unmapIfIdle();
    }

    /** @return why the peer was lost, or null. */
    synchronized String lostReason()
    {
        return lostReason;
    }

    /** The peer is gone (or forgotten): no new transfer starts, and its mappings go when the last ends. */
    synchronized void lose(final String reason)
    {
        if (null == lostReason)
        {
            lostReason = reason;
        }
        unmapIfIdle();
    }

    private void unmapIfIdle()
    {
        if (null != lostReason && 0 == users && !released)
        {
            released = true;
            for (final long[] m : mappings)
            {
                Posix.unmap(m[0], m[1]);
            }
            mappings.clear();
        }
    }

    /** @return the number of mappings held, for tests and diagnostics. */
    synchronized int mappingCount()
    {
        return mappings.size();
    }

    /**
     * Maps the memory file behind a region of the peer, once. Called with the peer acquired.
     */
    void ensureMapped(final ShmPeerRegion region, final SameHostChannel channel)
    {
        if (0 != region.mappedAddress)
        {
            return;
        }
        synchronized (region)
        {
            if (0 != region.mappedAddress)
            {
                return;
            }
            final SameHostChannel.SharedFile file = channel.requestFile(name, socketAddress, region.address,
                region.length, region.accessKey);
            try
            {
                final int seals = Posix.seals(file.fd());
                final long size = Posix.size(file.fd());
                if (0 == (seals & Posix.F_SEAL_SHRINK))
                {
                    throw new FerryException(ErrorCode.NOT_ALLOWED, "peer '" + name + "' passed a memory file that " +
                        "can shrink under a mapping; refused");
                }
                if (size != file.fileSize() || file.offset() < 0 || file.offset() > size ||
                    region.length > size - file.offset())
                {
                    throw new FerryException(ErrorCode.MISMATCH, "peer '" + name + "' passed a memory file of " +
                        size + " B that does not hold " + region + " at offset " + file.offset());
                }
                final long at = Posix.mapShared(file.fd(), 0, size);
                synchronized (this)
                {
                    mappings.add(new long[]{at, size});
                }
                region.mappedAddress = at + file.offset();
            }
            catch (final SystemCallException ex)
            {
                throw new FerryException(ErrorCode.BACKEND, "cannot map " + region + ": " + ex.getMessage(), ex);
            }
            finally
            {
                Posix.close(file.fd());
            }
        }
    }
}
