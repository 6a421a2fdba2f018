package io.ferry.connect;

import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.PreparedList;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A KV cache registered once as regions x blocks (vLLM's registered KV caches): after a
 * {@link PoolHandshake handshake} with a peer's pool, blocks move by block-id lists, every region's copy of each
 * listed block in one request (descriptor index = region x blockCount + block). Blocks held for a peer are
 * tracked by {@link BlockLease leases}.
 * <pre>{@code
 * BlockPool pool = connector.createBlockPool(new BlockLayout("llama-3.1-8b/bf16", 64, 1000, 32768), regions);
 * PeerPool decode = pool.handshake("decode-host", decodePort, Duration.ofSeconds(10));
 * pool.write(decode, new int[] {4, 5, 6}, new int[] {17, 90, 3}, "req-17".getBytes())
 *     .awaitCompletion(Duration.ofSeconds(10));
 * }</pre>
 */
public final class BlockPool implements AutoCloseable
{
    private final Connector connector;
    private final BlockLayout layout;
    private final List<MemorySegment> segments;
    private final long[] bases;
    private final Registration registration;
    private final PreparedList prepared;
    private final int[] holds;
    private final List<Consumer<BlockLease>> leaseListeners = new CopyOnWriteArrayList<>();
    private final Map<String, PeerPool> peers = new ConcurrentHashMap<>();
    private final Map<String, String> refused = new ConcurrentHashMap<>();
    private volatile boolean closed;

    BlockPool(final Connector connector, final BlockLayout layout, final List<MemorySegment> regions)
    {
        this.connector = connector;
        this.layout = layout;
        if (regions.size() != layout.regions())
        {
            throw FerryException.invalid("block layout has " + layout.regions() + " regions but " + regions.size() +
                " segments were given");
        }
        final List<Region> list = new ArrayList<>(regions.size());
        bases = new long[regions.size()];
        for (int r = 0; r < regions.size(); r++)
        {
            final MemorySegment s = regions.get(r);
            if (s.byteSize() < layout.regionBytes())
            {
                throw FerryException.invalid("region " + r + " is " + s.byteSize() + " B, less than " +
                    layout.blockCount() + " blocks x " + layout.blockBytes() + " B");
            }
            list.add(Region.of(s.asSlice(0, layout.regionBytes())));
            bases[r] = s.address();
        }
        segments = List.copyOf(regions);
        registration = connector.agent().register(MemoryKind.DRAM, list);
        try
        {
            prepared = connector.agent().prepare(blockDescs(bases, layout));
        }
        catch (final RuntimeException ex)
        {
            connector.deregisterQuietly(registration);
            throw ex;
        }
        holds = new int[layout.blockCount()];
    }

    static DescList blockDescs(final long[] bases, final BlockLayout layout)
    {
        final DescList.Builder b = DescList.builder(MemoryKind.DRAM, layout.regions() * layout.blockCount());
        for (final long base : bases)
        {
            for (int k = 0; k < layout.blockCount(); k++)
            {
                b.add(base + k * layout.blockBytes(), layout.blockBytes());
            }
        }
        return b.build();
    }

    /**
     * @return the layout.
     */
    public BlockLayout layout()
    {
        return layout;
    }

    /**
     * @param region a region index.
     * @return its memory.
     */
    public MemorySegment segment(final int region)
    {
        return segments.get(region);
    }

    /**
     * @param region a region index.
     * @param block  a block id.
     * @return the block's bytes in that region.
     */
    public MemorySegment block(final int region, final int block)
    {
        checkBlock(block, layout.blockCount(), "local", 0);
        return segments.get(region).asSlice(block * layout.blockBytes(), layout.blockBytes());
    }

    Connector connector()
    {
        return connector;
    }

    /**
     * @return this pool's handshake, to hand to a peer by any channel (or let {@link #handshake} do it).
     */
    public byte[] handshakeBytes()
    {
        checkOpen();
        return new PoolHandshake(connector.name(), connector.agent().partialMetadata(registration.descs(), true),
            layout, bases.clone(), layout.compatibilityHash()).encode();
    }

    /**
     * Accepts a peer pool's handshake: checks compatibility, loads the peer's agent metadata and prepares its
     * blocks.
     *
     * @param peerHandshake what the peer's {@link #handshakeBytes()} returned.
     * @return the peer's pool.
     * @throws FerryException INVALID_PARAM for a malformed handshake; MISMATCH naming every layout field that
     *                        differs; as {@link io.ferry.Agent#loadRemoteMetadata} when the metadata is refused.
     */
    public PeerPool attach(final byte[] peerHandshake)
    {
        checkOpen();
        final PoolHandshake h = PoolHandshake.decode(peerHandshake);
        h.checkCompatibleWith(layout);
        final String peer = connector.agent().loadRemoteMetadata(h.agentMetadata());
        if (!peer.equals(h.agent()))
        {
            throw FerryException.invalid("pool handshake names agent '" + h.agent() + "' but carries the metadata " +
                "of '" + peer + "'");
        }
        final PeerPool p = new PeerPool(this, peer, h.layout(),
            connector.agent().prepare(peer, blockDescs(h.bases(), h.layout())));
        refused.remove(peer);
        peers.put(peer, p);
        return p;
    }

    /**
     * Handshakes with the pool of the same tag in the connector whose agent's metadata listener is at host:port:
     * fetches its agent metadata, sends our handshake, and attaches its answer. Both sides end attached.
     *
     * @param host    the peer's host.
     * @param port    the peer agent's metadata port ({@link io.ferry.Agent#metadataAddress()}).
     * @param timeout the most to wait.
     * @return the peer's pool.
     * @throws FerryException MISMATCH when either side finds the other's layout incompatible (the message names
     *                        the fields); TIMED_OUT when the peer does not answer; NOT_FOUND when it has no pool of
     *                        this tag.
     */
    public PeerPool handshake(final String host, final int port, final Duration timeout)
    {
        checkOpen();
        final String peer = connector.fetchPeer(host, port, timeout);
        return connector.helloPool(this, peer, timeout);
    }

    /**
     * Handshakes with the pool of the same tag of a peer whose agent metadata is already loaded (from etcd, say).
     *
     * @param peer    the peer's agent name.
     * @param timeout the most to wait.
     * @return the peer's pool.
     * @throws FerryException as {@link #handshake(String, int, Duration)}; NOT_FOUND when the peer is not loaded.
     */
    public PeerPool handshake(final String peer, final Duration timeout)
    {
        checkOpen();
        if (!connector.agent().peers().contains(peer))
        {
            throw new FerryException(ErrorCode.NOT_FOUND, "peer " + peer + " is not loaded; fetch its metadata first");
        }
        return connector.helloPool(this, peer, timeout);
    }

    /**
     * Waits for a peer that handshakes with this pool (the accepting side of {@link #handshake}).
     *
     * @param peer    the peer's agent name.
     * @param timeout the most to wait.
     * @return the peer's pool.
     * @throws FerryException TIMED_OUT when it did not handshake in time; MISMATCH when this pool refused its
     *                        handshake (the message says why).
     */
    public PeerPool awaitPeer(final String peer, final Duration timeout)
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        PeerPool p;
        while (null == (p = peers.get(peer)))
        {
            final String why = refused.get(peer);
            if (null != why)
            {
                throw new FerryException(ErrorCode.MISMATCH, "pool '" + layout.tag() + "' refused the handshake of " +
                    peer + ": " + why);
            }
            if (System.nanoTime() - deadline > 0)
            {
                throw new FerryException(ErrorCode.TIMED_OUT, "peer " + peer + " did not handshake with pool '" +
                    layout.tag() + "' within " + timeout);
            }
            checkOpen();
            sleepBriefly();
        }
        return p;
    }

    void refused(final String peer, final String why)
    {
        refused.put(peer, why);
    }

    private static void sleepBriefly()
    {
        try
        {
            Thread.sleep(2);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new FerryException(ErrorCode.CANCELED, "interrupted", ex);
        }
    }

    /**
     * Reads blocks of a peer's pool into ours: {@code remoteBlocks[k]} of every region lands in
     * {@code localBlocks[k]}, in one request.
     *
     * @param peer         the peer's pool.
     * @param localBlocks  our block ids.
     * @param remoteBlocks the peer's block ids, as many.
     * @param notification delivered to the peer's {@link Connector#awaitMessage} once the read completed; or null.
     * @return the running operation.
     * @throws FerryException INVALID_PARAM naming a block id out of range or lists of different lengths.
     */
    public Operation read(final PeerPool peer, final int[] localBlocks, final int[] remoteBlocks,
        final byte[] notification)
    {
        return move(TransferOp.READ, peer, localBlocks, remoteBlocks, notification);
    }

    /**
     * Writes blocks of ours into a peer's pool: {@code localBlocks[k]} of every region lands in
     * {@code remoteBlocks[k]}, in one request; the notification reaches the peer after every byte.
     *
     * @param peer         the peer's pool.
     * @param localBlocks  our block ids.
     * @param remoteBlocks the peer's block ids, as many.
     * @param notification delivered to the peer's {@link Connector#awaitMessage} after the data; or null.
     * @return the running operation.
     * @throws FerryException as {@link #read}.
     */
    public Operation write(final PeerPool peer, final int[] localBlocks, final int[] remoteBlocks,
        final byte[] notification)
    {
        return move(TransferOp.WRITE, peer, localBlocks, remoteBlocks, notification);
    }

    private Operation move(final TransferOp op, final PeerPool peer, final int[] localBlocks,
        final int[] remoteBlocks, final byte[] notification)
    {
        checkOpen();
        if (peer.localPool() != this)
        {
            throw FerryException.invalid("peer pool " + peer + " was attached to another pool");
        }
        if (0 == localBlocks.length || localBlocks.length != remoteBlocks.length)
        {
            throw FerryException.invalid("block lists must be non-empty and of equal length, got " +
                localBlocks.length + " local and " + remoteBlocks.length + " remote");
        }
        final int n = localBlocks.length;
        final int localCount = layout.blockCount();
        final int remoteCount = peer.layout().blockCount();
        for (int k = 0; k < n; k++)
        {
            checkBlock(localBlocks[k], localCount, "local", k);
            checkBlock(remoteBlocks[k], remoteCount, "peer " + peer.peer() + "'s", k);
        }
        final int regions = layout.regions();
        final int[] li = new int[regions * n];
        final int[] ri = new int[regions * n];
        int at = 0;
        for (int r = 0; r < regions; r++)
        {
            for (int k = 0; k < n; k++)
            {
                li[at] = r * localCount + localBlocks[k];
                ri[at] = r * remoteCount + remoteBlocks[k];
                at++;
            }
        }
        final TransferOptions options = null == notification ? TransferOptions.NONE :
            TransferOptions.notify(ControlMessage.encode(ControlMessage.USER, "", notification));
        final Operation operation = new Operation(connector, op == TransferOp.READ ? Operation.Role.READ :
            Operation.Role.WRITE, connector.newKey(), (long)regions * n * layout.blockBytes(), null, peer.peer());
        final Transfer t = connector.agent().transfer(op, prepared, li, peer.prepared(), ri, options);
        connector.start(operation, t);
        return operation;
    }

    private static void checkBlock(final int block, final int count, final String side, final int position)
    {
        if (block < 0 || block >= count)
        {
            throw FerryException.invalid(side + " block " + block + " at position " + position +
                " is out of range [0, " + count + ")");
        }
    }

    // ------------------------------------------------------------------------------------------ leases

    /**
     * Holds blocks for a peer until it releases them ({@link PeerPool#release}) or the lease expires; each
     * heartbeat ({@link PeerPool#heartbeat}) extends it by {@code duration}.
     *
     * @param peer      the peer the blocks are held for.
     * @param requestId names the lease between the two sides.
     * @param blocks    the held block ids.
     * @param duration  how long the lease lasts without a heartbeat; positive.
     * @return the lease.
     * @throws FerryException INVALID_PARAM for a block out of range, a non-positive duration, or a request id
     *                        already held for that peer.
     */
    public BlockLease hold(final String peer, final String requestId, final int[] blocks, final Duration duration)
    {
        checkOpen();
        if (duration.isNegative() || duration.isZero())
        {
            throw FerryException.invalid("lease duration must be positive, got " + duration);
        }
        for (int k = 0; k < blocks.length; k++)
        {
            checkBlock(blocks[k], layout.blockCount(), "held", k);
        }
        final BlockLease lease = new BlockLease(this, peer, requestId, blocks.clone(), duration.toNanos(),
            System.nanoTime());
        connector.leases().add(lease);
        synchronized (holds)
        {
            for (final int b : blocks)
            {
                holds[b]++;
            }
        }
        return lease;
    }

    /**
     * @param listener told of every lease of this pool that ends (released, expired, cancelled), on the
     *                 connector's thread; must be quick.
     */
    public void onLeaseEnd(final Consumer<BlockLease> listener)
    {
        leaseListeners.add(listener);
    }

    /**
     * @param block a block id.
     * @return true while a lease holds it.
     */
    public boolean isHeld(final int block)
    {
        synchronized (holds)
        {
            return holds[block] > 0;
        }
    }

    /**
     * @return how many blocks leases hold.
     */
    public int heldBlockCount()
    {
        synchronized (holds)
        {
            int n = 0;
            for (final int h : holds)
            {
                n += h > 0 ? 1 : 0;
            }
            return n;
        }
    }

    boolean endLease(final BlockLease lease, final BlockLease.State how, final String why)
    {
        if (!connector.leases().take(lease))
        {
            return false;
        }
        leaseEnded(lease, how, why);
        return true;
    }

    /** Frees a lease's blocks and reports its end; the lease was already taken out of the table. */
    void leaseEnded(final BlockLease lease, final BlockLease.State how, final String why)
    {
        lease.end(how, why);
        synchronized (holds)
        {
            for (final int b : lease.blocks())
            {
                holds[b]--;
            }
        }
        if (BlockLease.State.EXPIRED == how)
        {
            System.getLogger(BlockPool.class.getName()).log(System.Logger.Level.WARNING, "connector " +
                connector.name() + ": " + lease + " ended: " + why + "; its blocks were freed");
        }
        for (final Consumer<BlockLease> l : leaseListeners)
        {
            try
            {
                l.accept(lease);
            }
            catch (final RuntimeException ex)
            {
                System.getLogger(BlockPool.class.getName()).log(System.Logger.Level.WARNING, "lease listener failed",
                    ex);
            }
        }
        lease.reportEnd();
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new FerryException(ErrorCode.NOT_ALLOWED, "block pool '" + layout.tag() + "' was closed");
        }
    }

    /**
     * Ends this pool's leases (reported as CANCELLED) and deregisters its memory. Idempotent.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        connector.poolClosed(this);
        connector.deregisterQuietly(registration);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "BlockPool{" + layout + "}";
    }
}
