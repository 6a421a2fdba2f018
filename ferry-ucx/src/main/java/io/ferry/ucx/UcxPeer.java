package io.ferry.ucx;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A peer as the UCX backend knows it: its worker address and, once connected, the endpoint to it. The endpoint,
 * its generation and the rkeys unpacked for it belong to the worker thread.
 */
final class UcxPeer
{
    final String name;
    final byte[] workerAddress;
    /** The id the endpoint's error handler is called with. */
    final long id;
    /** {@code ucp_ep_h}, or NULL before the first connect and after a failure. Worker thread only. */
    MemorySegment endpoint = MemorySegment.NULL;
    /** Bumped each time an endpoint is made, so that rkeys of an older one are unpacked again. */
    long endpointEpoch;
    /** Remote regions with an rkey unpacked for the current endpoint. Worker thread only. */
    final List<UcxRemoteRegion> unpacked = new ArrayList<>();
    /** Why the endpoint failed (null while it is fine). Worker thread only. */
    String failure;

    UcxPeer(final String name, final byte[] workerAddress, final long id)
    {
        this.name = name;
        this.workerAddress = workerAddress;
        this.id = id;
    }

    public String toString()
    {
        return "peer '" + name + "'";
    }
}
