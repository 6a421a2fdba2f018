package io.ferry;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Regions registered together with {@link Agent#register}; {@link #close()} deregisters those still registered.
 */
public final class Registration implements AutoCloseable
{
    private final Agent agent;
    private final MemoryKind kind;
    private final List<LocalRegion> regions;
    private final AtomicBoolean closed = new AtomicBoolean();

    Registration(final Agent agent, final MemoryKind kind, final List<LocalRegion> regions)
    {
        this.agent = agent;
        this.kind = kind;
        this.regions = regions;
    }

    /**
     * @return the memory kind of the regions.
     */
    public MemoryKind kind()
    {
        return kind;
    }

    /**
     * @return the registered spans, in the order given (zero-length BLOCK/OBJECT/FILE spans as whole objects).
     */
    public DescList descs()
    {
        final DescList.Builder b = DescList.builder(kind, regions.size());
        for (final LocalRegion r : regions)
        {
            b.add(r.address, r.length, r.deviceId);
        }
        return b.build();
    }

    /**
     * @return the names of the backends that hold at least one of the regions.
     */
    public List<String> backends()
    {
        long mask = 0;
        for (final LocalRegion r : regions)
        {
            mask |= r.backendMask;
        }
        return agent.backendNames(mask);
    }

    /**
     * @return true until {@link #close()} (or the agent's close) deregistered the regions.
     */
    public boolean isRegistered()
    {
        return !closed.get() && regions.stream().anyMatch(r -> r.live);
    }

    List<LocalRegion> regions()
    {
        return regions;
    }

    /**
     * Deregisters the regions that are still registered. Idempotent.
     */
    public void close()
    {
        if (closed.compareAndSet(false, true))
        {
            agent.deregister(this);
        }
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Registration{" + kind + ", " + regions.size() + " regions, " + (isRegistered() ? "live" : "closed") +
            "}";
    }
}
