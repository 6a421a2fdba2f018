package io.ferry.cli;

import io.ferry.FerryException;
import io.ferry.Notification;
import io.ferry.connect.BlockLease;
import io.ferry.connect.BlockPool;
import io.ferry.connect.Connector;
import io.ferry.connect.Operation;
import io.ferry.connect.PeerPool;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The demo's prefill worker: fills each request's KV blocks with content the decoder can check, handshakes with
 * the decoder's pool, and either holds the blocks under a lease until the decoder pulled them, or pushes them into
 * the blocks the decoder asks for, with a notification per request.
 */
final class DemoPrefill
{
    private static final Duration LEASE = Duration.ofSeconds(30);

    private DemoPrefill()
    {
    }

    /**
     * @param attach handshakes the pool with the decoder (by socket address or after an etcd fetch).
     * @return the exit code.
     */
    static int run(final Connector c, final DemoSpec spec, final Function<BlockPool, PeerPool> attach,
        final PrintWriter out)
    {
        try (Arena arena = spec.hostArena())
        {
            final List<MemorySegment> regions = DemoDecode.regions(arena, spec);
            final BlockPool pool = c.createBlockPool(spec.layout(), regions);
            final int[][] mine = spec.blockIds(1);
            final long fillStart = System.nanoTime();
            for (int request = 0; request < spec.requests(); request++)
            {
                for (int region = 0; region < spec.layout().regions(); region++)
                {
                    for (int j = 0; j < spec.blocksPerRequest(); j++)
                    {
                        KvPattern.fill(pool.block(region, mine[request][j]), KvPattern.seed(request, region, j));
                    }
                }
            }
            final long fillNs = System.nanoTime() - fillStart;
            final PeerPool decode = attach.apply(pool);
            final String peer = decode.peer();
            if (!spec.pull())
            {
                c.agent().connect(peer); // connections (and SHM's mappings) before the first request
            }
            out.println(DemoCommand.header(spec, c.agent().backendsReaching(peer), peer));
            out.flush();
            c.sendMessage(peer, ("batch " + spec.requests() + " " + (spec.pull() ? "pull" : "push"))
                .getBytes(StandardCharsets.UTF_8));
            int released = 0;
            final List<String> problems = new ArrayList<>();
            if (spec.pull())
            {
                final List<BlockLease> leases = new ArrayList<>();
                for (int request = 0; request < spec.requests(); request++)
                {
                    leases.add(pool.hold(peer, "req-" + request, mine[request], LEASE));
                    c.sendMessage(peer, ("ready " + request + " " + DemoSpec.ids(mine[request]))
                        .getBytes(StandardCharsets.UTF_8));
                }
                for (final BlockLease l : leases)
                {
                    final BlockLease.State s = l.awaitEnd(spec.timeout());
                    if (BlockLease.State.RELEASED == s)
                    {
                        released++;
                    }
                    else
                    {
                        problems.add(l + ": " + l.reason());
                    }
                }
            }
            else
            {
                for (int n = 0; n < spec.requests(); n++)
                {
                    final String[] want = c.awaitMessage(peer, m -> m.payloadAsString().startsWith("want "),
                        spec.timeout()).payloadAsString().split(" ");
                    final int request = Integer.parseInt(want[1]);
                    try (Operation write = pool.write(decode, mine[request], DemoSpec.parseIds(want[2]),
                        ("kv " + request).getBytes(StandardCharsets.UTF_8)))
                    {
                        write.awaitCompletion(spec.timeout());
                    }
                }
            }
            final Notification done = c.awaitMessage(peer, m -> m.payloadAsString().equals("done") ||
                m.payloadAsString().equals("abort"), spec.timeout());
            out.printf("prefill-0 filled %d requests (%s) in %.0f ms, handshook with %s's pool '%s', %s%n",
                spec.requests(), DemoCommand.human(spec.bytesPerRequest() * spec.requests()), fillNs / 1e6, peer,
                spec.layout().tag(), spec.pull() ? "held each request's blocks under a " + LEASE.toSeconds() +
                " s lease: " + released + " released by the decoder, " + problems.size() + " expired" :
                "pushed every request into the blocks the decoder named");
            problems.forEach(p -> out.println("prefill-0: " + p));
            out.flush();
            return problems.isEmpty() && "done".equals(done.payloadAsString()) ? 0 : 1;
        }
        catch (final FerryException ex)
        {
            out.println("prefill: " + ex.getMessage());
            out.flush();
            return 1;
        }
    }
}
