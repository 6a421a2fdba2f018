package io.ferry;

import io.ferry.internal.Span;
import io.ferry.spi.MemoryHandle;

/**
 * A descriptor list resolved once against registrations (NIXL's {@code prepXferDlist}): each descriptor knows its
 * region and offset, so that requests made from it by index ({@link Agent#transfer}) cost no lookup.
 * <p>
 * A local list comes from {@link Agent#prepare(DescList)}; a remote one from {@link Agent#prepare(String, DescList)}
 * (a peer's published regions, or this agent's own regions for loopback). A remote list is bound to the peer's
 * metadata generation: once the peer is invalidated or re-loaded, transfers made from it fail with NOT_FOUND.
 */
public final class PreparedList
{
    enum Side
    {
        LOCAL, REMOTE, LOOPBACK
    }

    final Agent agent;
    final Side side;
    final String peer;
    final long generation;
    final MemoryKind kind;
    final Span[] regions;
    /** The prepared list's own descriptor arrays (immutable, shared, not copied). */
    final long[] addresses;
    final long[] lengths;
    final long backendMask;

    PreparedList(
        final Agent agent,
        final Side side,
        final String peer,
        final long generation,
        final MemoryKind kind,
        final Span[] regions,
        final DescList descs,
        final long backendMask)
    {
        this.agent = agent;
        this.side = side;
        this.peer = peer;
        this.generation = generation;
        this.kind = kind;
        this.regions = regions;
        this.addresses = descs.addressesUnsafe();
        this.lengths = descs.lengthsUnsafe();
        this.backendMask = backendMask;
    }

    /**
     * @return the number of descriptors.
     */
    public int size()
    {
        return regions.length;
    }

    /**
     * @return the memory kind of the descriptors.
     */
    public MemoryKind kind()
    {
        return kind;
    }

    /**
     * @return the peer the list points into, or null for a local list.
     */
    public String peer()
    {
        return peer;
    }

    /**
     * @return true for a list of this agent's own memory as initiator.
     */
    public boolean isLocal()
    {
        return Side.LOCAL == side;
    }

    /**
     * @return names of the backends that hold every descriptor of the list.
     */
    public java.util.List<String> backends()
    {
        return agent.backendNames(backendMask);
    }

    MemoryHandle handle(final int i, final int slot)
    {
        return switch (side)
        {
            case LOCAL -> ((LocalRegion)regions[i]).handles[slot];
            case LOOPBACK -> ((LocalRegion)regions[i]).loopback[slot];
            case REMOTE -> ((PeerRegion)regions[i]).handles[slot];
        };
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "PreparedList{" + side + (null == peer ? "" : " " + peer) + ", " + kind + ", " + size() + " descs}";
    }
}
