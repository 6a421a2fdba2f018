package io.ferry.connect;

import io.ferry.FerryException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Every live {@link BlockLease} of a connector, by peer and request id; times are {@link System#nanoTime()} values
 * passed in, so tests drive it with a fake clock.
 */
final class LeaseTable
{
    private final Map<String, BlockLease> leases = new HashMap<>();

    private static String key(final String peer, final String requestId)
    {
        return peer + '\u0000' + requestId;
    }

    synchronized void add(final BlockLease lease)
    {
        final String k = key(lease.peer(), lease.requestId());
        if (leases.containsKey(k))
        {
            throw FerryException.invalid("a lease for request '" + lease.requestId() + "' of peer " + lease.peer() +
                " is already held");
        }
        leases.put(k, lease);
    }

    /** @return true when the lease was held and is now extended. */
    synchronized boolean extend(final String peer, final String requestId, final long nowNs)
    {
        final BlockLease l = leases.get(key(peer, requestId));
        return null != l && l.extend(nowNs);
    }

    /** @return the lease taken out of the table, or null when there is none. */
    synchronized BlockLease take(final String peer, final String requestId)
    {
        return leases.remove(key(peer, requestId));
    }

    /** @return true when the lease was still in the table (and now is not). */
    synchronized boolean take(final BlockLease lease)
    {
        return leases.remove(key(lease.peer(), lease.requestId()), lease);
    }

    /** Takes out and returns the leases whose expiry is at or before {@code nowNs}. */
    synchronized List<BlockLease> takeExpired(final long nowNs)
    {
        List<BlockLease> out = List.of();
        for (final Iterator<BlockLease> it = leases.values().iterator(); it.hasNext(); )
        {
            final BlockLease l = it.next();
            if (nowNs - l.expiresAtNanos() >= 0)
            {
                if (out.isEmpty())
                {
                    out = new ArrayList<>();
                }
                out.add(l);
                it.remove();
            }
        }
        return out;
    }

    /** Takes out and returns every lease held for a peer. */
    synchronized List<BlockLease> takePeer(final String peer)
    {
        final List<BlockLease> out = new ArrayList<>();
        for (final Iterator<BlockLease> it = leases.values().iterator(); it.hasNext(); )
        {
            final BlockLease l = it.next();
            if (l.peer().equals(peer))
            {
                out.add(l);
                it.remove();
            }
        }
        return out;
    }

    /** Takes out and returns every lease of a pool. */
    synchronized List<BlockLease> takePool(final BlockPool pool)
    {
        final List<BlockLease> out = new ArrayList<>();
        for (final Iterator<BlockLease> it = leases.values().iterator(); it.hasNext(); )
        {
            final BlockLease l = it.next();
            if (l.pool() == pool)
            {
                out.add(l);
                it.remove();
            }
        }
        return out;
    }

    synchronized List<BlockLease> takeAll()
    {
        final List<BlockLease> out = new ArrayList<>(leases.values());
        leases.clear();
        return out;
    }

    synchronized int size()
    {
        return leases.size();
    }
}
