package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.TransferOp;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The link scheduler's decisions on a fake clock, with no sockets and no threads: each path is simulated as a
 * serial link of a given rate and delay that answers every chunk written to it (a tiny discrete-event simulation).
 */
@Timeout(30)
class LinkSchedulerTest
{
    private static final int MIB = 1 << 20;
    private static final int KIB = 1024;
    private static final long START = 1_000_000_000L;

    private final TcpRegion localRegion = new TcpRegion(1, 0x10_0000_0000L, 1L << 30, 0);
    private final TcpRemoteRegion remoteRegion = new TcpRemoteRegion("peer", 77, 0x20_0000_0000L, 1L << 30, false);

    /** A post's owner: how it ended, and when. */
    static final class Outcome implements TransferSink
    {
        int completions;
        FerryException error;

        public void onComplete()
        {
            completions++;
        }

        public void onFailure(final FerryException e)
        {
            completions++;
            error = e;
        }
    }

    private TcpRequest request(final TransferOp op, final long bytes, final Outcome sink)
    {
        final ResolvedDescs local = new ResolvedDescs(1);
        final ResolvedDescs remote = new ResolvedDescs(1);
        local.add(localRegion, 0, bytes);
        remote.add(remoteRegion, 0, bytes);
        final TcpConfig config = TcpConfig.parse(TcpConfig.defaults());
        final int chunk = config.chunkSizeFor(bytes, false);
        final int tail = config.tailChunkFor(chunk, false);
        final TcpRequest r = new TcpRequest(op, local, remote, "peer", sink, chunk,
            config.tailBytesFor(bytes, chunk, tail), tail, 256);
        r.onePath = TransferOp.READ == op && config.lessThanOneChunkPerPath(bytes, false);
        return r;
    }

    /**
     * Paths as serial links: a chunk written at t is answered at max(t, when the link is free) + bytes / rate +
     * delay. READ sub-requests are answered the same way (their data are the reply).
     */
    static final class Sim
    {
        final LinkScheduler scheduler;
        final List<PathState> paths = new ArrayList<>();
        final double[] rate;
        final long delayNs;
        final long[] freeAt;
        final long[] bytesCarried;
        final PriorityQueue<long[]> events = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
        final Map<Long, Chunk> written = new HashMap<>();
        final Completions out = new Completions();
        /** Status the next answer to a chunk gets, by chunk (absent: OK). */
        final Map<Chunk, Integer> nextStatus = new HashMap<>();
        /** Chunks held back: never answered while here. */
        final List<Chunk> held = new ArrayList<>();
        long now = START;

        Sim(final boolean roundRobin, final double[] bytesPerNs, final long delayNs,
            final java.util.function.IntFunction<CongestionController> controller)
        {
            this.scheduler = new LinkScheduler("peer", "test", roundRobin, 2000, 0);
            this.rate = bytesPerNs;
            this.delayNs = delayNs;
            this.freeAt = new long[bytesPerNs.length];
            this.bytesCarried = new long[bytesPerNs.length];
            for (int i = 0; i < bytesPerNs.length; i++)
            {
                paths.add(new PathState(i, 1, controller.apply(i)));
            }
            scheduler.install(paths, now);
        }

        /** Every path writes what it was given; each frame is answered later. */
        void writeAll()
        {
            for (final PathState p : paths)
            {
                p.signalPending = false;
                Chunk c;
                while (null != (c = scheduler.nextToWrite(p, now, Long.MAX_VALUE)))
                {
                    final long start = Math.max(now, freeAt[p.index]);
                    final long done = start + (long)(c.bytes / rate[p.index]) + delayNs;
                    freeAt[p.index] = done - delayNs;
                    bytesCarried[p.index] += c.bytes;
                    written.put(c.id, c);
                    events.add(new long[] {done, p.index, c.id});
                }
            }
        }

        /** Runs until nothing is left to answer or {@code until} says stop; returns the time. */
        long run(final java.util.function.BooleanSupplier until)
        {
            writeAll();
            while (!until.getAsBoolean() && !events.isEmpty())
            {
                final long[] e = events.poll();
                final PathState p = paths.get((int)e[1]);
                final Chunk c = written.get(e[2]);
                if (p.dead || held.contains(c) || !p.unacked.contains(c))
                {
                    continue;
                }
                now = Math.max(now, e[0]);
                final Integer status = nextStatus.remove(c);
                scheduler.onReply(p, e[2], null == status ? Frames.OK : status, "", now, out);
                out.deliver();
                writeAll();
            }
            return now;
        }

        Outcome transfer(final TcpRequest r, final Outcome sink, final byte[] notification)
        {
            if (scheduler.submit(r, notification, now))
            {
                sink.onComplete();
            }
            run(() -> sink.completions > 0);
            return sink;
        }
    }

    private static CongestionController fixed(final long window)
    {
        return new FixedWindowController(window);
    }

    private static CongestionController swift()
    {
        return new SwiftController(8L * MIB, 4L * MIB, 64L * MIB, MIB, 1.5, 0.8, 0.5);
    }

    /**
     * Four paths of unequal rates: the transfer takes about the time the summed rates allow, in both directions, each
     * path carrying its share; round-robin is held to its slowest path.
     */
    @Test
    void pathsOfUnequalRatesFinishTogetherForWriteAndRead()
    {
        final double[] rates = {1.0, 1.0, 0.5, 0.25}; // bytes per ns (GB/s)
        final long bytes = 64L * MIB;
        final double ideal = bytes / 2.75;
        for (final TransferOp op : TransferOp.values())
        {
            final Sim sim = new Sim(false, rates, 50_000, i -> swift());
            final Outcome warm = new Outcome();
            sim.transfer(request(op, bytes, warm), warm, null); // the first transfer measures the paths
            final long[] before = sim.bytesCarried.clone();
            final long start = sim.now;
            final Outcome o = new Outcome();
            sim.transfer(request(op, bytes, o), o, null);
            final double took = sim.now - start;
            assertThat(o.completions).isEqualTo(1);
            assertThat(o.error).isNull();
            assertThat(took / ideal).as(op + " time over what the rates allow").isLessThan(1.08);
            final long slowShare = sim.bytesCarried[3] - before[3];
            assertThat((double)slowShare / bytes).as(op + ": the slowest path's share").isBetween(0.05, 0.14);
        }
        final Sim rr = new Sim(true, rates, 50_000, i -> fixed(8L * MIB));
        final Outcome o = new Outcome();
        final long start = rr.now;
        rr.transfer(request(TransferOp.READ, bytes, o), o, null);
        assertThat((rr.now - start) / ideal).as("round robin waits on its slowest path").isGreaterThan(1.5);
    }

    /** The READ rate is the reply direction's own: slow WRITE acknowledgements on a path do not make READ avoid it. */
    @Test
    void eachDirectionIsMeasuredApart()
    {
        final Sim sim = new Sim(false, new double[] {1.0, 1.0}, 50_000, i -> swift());
        final Outcome w = new Outcome();
        sim.transfer(request(TransferOp.WRITE, 32L * MIB, w), w, null);
        final PathState p = sim.paths.get(0);
        assertThat(p.deliveryRate(sim.now, false)).isPositive();
        assertThat(p.deliveryRate(sim.now, true)).as("no READ was answered yet").isZero();
        final Outcome r = new Outcome();
        sim.transfer(request(TransferOp.READ, 32L * MIB, r), r, null);
        assertThat(p.deliveryRate(sim.now, true)).isPositive();
    }

    /** A READ smaller than paths x chunk_size keeps its sub-requests on one path (pipelined there). */
    @Test
    void aSmallReadStaysOnOnePathAndASmallWriteSpreads()
    {
        final Sim sim = new Sim(false, new double[] {1.0, 1.0, 1.0, 1.0}, 50_000, i -> swift());
        for (int k = 0; k < 3; k++)
        {
            final Outcome warm = new Outcome();
            sim.transfer(request(TransferOp.WRITE, 64L * MIB, warm), warm, null);
            final Outcome warmRead = new Outcome();
            sim.transfer(request(TransferOp.READ, 64L * MIB, warmRead), warmRead, null);
        }
        final long[] before = sim.bytesCarried.clone();
        final Outcome o = new Outcome();
        final TcpRequest read = request(TransferOp.READ, 2L * MIB, o);
        assertThat(read.chunks.length).isGreaterThan(1);
        sim.transfer(read, o, null);
        int used = 0;
        for (int i = 0; i < 4; i++)
        {
            used += sim.bytesCarried[i] > before[i] ? 1 : 0;
        }
        assertThat(used).as("paths a 2 MiB READ used").isEqualTo(1);
        final long[] mid = sim.bytesCarried.clone();
        final Outcome w = new Outcome();
        sim.transfer(request(TransferOp.WRITE, 2L * MIB, w), w, null);
        used = 0;
        for (int i = 0; i < 4; i++)
        {
            used += sim.bytesCarried[i] > mid[i] ? 1 : 0;
        }
        assertThat(used).as("paths a 2 MiB WRITE used").isGreaterThan(1);
    }

    /** A failed path's chunks are placed again on the others and answered once; the WRITE waits for the FENCE. */
    @Test
    void aFailedPathsChunksAreRequeuedBehindAFenceAndDeliveredOnce()
    {
        final Sim sim = new Sim(false, new double[] {1.0, 1.0}, 50_000, i -> fixed(8L * MIB));
        final Outcome o = new Outcome();
        final TcpRequest r = request(TransferOp.WRITE, 32L * MIB, o);
        assertThat(sim.scheduler.submit(r, "done".getBytes(), sim.now)).isFalse();
        sim.writeAll();
        final PathState lost = sim.paths.get(1);
        final int onIt = lost.unacked.size();
        assertThat(onIt).isPositive();
        final List<Chunk> fences = new ArrayList<>();
        assertThat(sim.scheduler.pathFailed(lost, sim.now)).isEqualTo(onIt);
        assertThat(sim.scheduler.pathFailed(lost, sim.now)).as("once").isEqualTo(-1);
        assertThat(r.fencesPending).isEqualTo(1);
        // answer everything except FENCEs, which are held: the post must not complete meanwhile
        sim.writeAll();
        for (final Chunk c : sim.written.values())
        {
            if (c.isFence())
            {
                fences.add(c);
            }
        }
        assertThat(fences).hasSize(1);
        assertThat(sim.paths.get(0).unacked.peekFirst()).as("the FENCE goes before the moved chunks").isNotNull();
        sim.held.addAll(fences);
        sim.run(() -> false);
        assertThat(o.completions).as("not before the target fenced the lost path").isZero();
        assertThat(r.remaining).isZero();
        sim.held.clear();
        sim.scheduler.onReply(sim.paths.get(0), fences.get(0).id, Frames.OK, "", sim.now, sim.out);
        sim.run(() -> o.completions > 0);
        assertThat(o.completions).isEqualTo(1);
        assertThat(o.error).isNull();
        assertThat(sim.bytesCarried[0] + sim.bytesCarried[1]).as("moved chunks are sent again")
            .isGreaterThanOrEqualTo(32L * MIB);
        assertThat(r.inFlight).isZero();
        assertThat(sim.scheduler.anyAlive()).isTrue();
        sim.scheduler.pathFailed(sim.paths.get(0), sim.now);
        assertThat(sim.scheduler.anyAlive()).isFalse();
    }

    /** A CRC mismatch is resent until it passes; past the retries the post fails, naming the chunk. */
    @Test
    void aCrcMismatchIsResentThenFailsAfterTheRetries()
    {
        final Sim sim = new Sim(false, new double[] {1.0}, 50_000, i -> fixed(8L * MIB));
        final Outcome o = new Outcome();
        final TcpRequest r = request(TransferOp.WRITE, 4L * MIB, o);
        sim.scheduler.submit(r, null, sim.now);
        final Chunk victim = r.chunks[1];
        sim.nextStatus.put(victim, (int)Frames.CRC_MISMATCH);
        final long before = sim.bytesCarried[0];
        sim.run(() -> o.completions > 0);
        assertThat(o.completions).isEqualTo(1);
        assertThat(o.error).isNull();
        assertThat(victim.crcRetries).isEqualTo(1);
        assertThat(sim.bytesCarried[0] - before).as("one chunk sent twice").isEqualTo(4L * MIB + victim.bytes);

        final Outcome bad = new Outcome();
        final TcpRequest r2 = request(TransferOp.READ, 4L * MIB, bad);
        sim.scheduler.submit(r2, null, sim.now);
        final Chunk always = r2.chunks[0];
        final int[] mismatches = {0};
        while (bad.completions == 0)
        {
            sim.writeAll();
            if (always.sentNs != 0 && sim.paths.get(0).unacked.contains(always))
            {
                sim.nextStatus.put(always, (int)Frames.CRC_MISMATCH);
                mismatches[0]++;
            }
            sim.run(() -> bad.completions > 0 || sim.nextStatus.isEmpty());
        }
        assertThat(bad.error).isNotNull();
        assertThat(bad.error.code()).isEqualTo(Frames.errorCode(Frames.CRC_MISMATCH));
        assertThat(bad.error.getMessage()).contains("peer 'peer'").contains(always.toString());
        assertThat(always.crcRetries).isEqualTo(LinkScheduler.MAX_CRC_RETRIES);
        assertThat(mismatches[0]).as("the first send and every retry were refused").isEqualTo(
            1 + LinkScheduler.MAX_CRC_RETRIES);
    }

    /** A notification leaves only after every chunk of its post was answered. */
    @Test
    void aNotificationIsReleasedOnlyAfterTheLastChunk()
    {
        final Sim sim = new Sim(false, new double[] {1.0, 0.5}, 50_000, i -> fixed(64L * MIB));
        final Outcome o = new Outcome();
        final TcpRequest r = request(TransferOp.WRITE, 8L * MIB, o);
        sim.scheduler.submit(r, "kv ready".getBytes(), sim.now);
        final Chunk last = r.chunks[r.chunks.length - 1];
        sim.writeAll();
        sim.held.add(last);
        sim.run(() -> false);
        for (final PathState p : sim.paths)
        {
            for (final Chunk c : p.unacked)
            {
                assertThat(c.isNotification()).as("no notification before the last chunk: " + c).isFalse();
            }
        }
        assertThat(r.remaining).isEqualTo(1);
        sim.held.clear();
        final PathState on = sim.paths.get(sim.paths.get(0).unacked.contains(last) ? 0 : 1);
        sim.scheduler.onReply(on, last.id, Frames.OK, "", sim.now, sim.out);
        boolean queued = false;
        for (final PathState p : sim.paths)
        {
            for (final Chunk c : p.unacked)
            {
                queued |= c.isNotification() && c.request == r;
            }
        }
        assertThat(queued).as("the notification follows the last chunk").isTrue();
        assertThat(o.completions).isZero();
        sim.run(() -> o.completions > 0);
        assertThat(o.completions).isEqualTo(1);
        assertThat(o.error).isNull();
    }

    /** An empty post without a notification is done at once; with one, it is the notification alone. */
    @Test
    void anEmptyPostCompletesAtOnceOrWithItsNotification()
    {
        final Sim sim = new Sim(false, new double[] {1.0}, 50_000, i -> fixed(MIB));
        final TcpRequest empty = new TcpRequest(TransferOp.WRITE, new ResolvedDescs(0), new ResolvedDescs(0), "peer",
            new Outcome(), MIB, 0, MIB, 256);
        assertThat(sim.scheduler.submit(empty, null, sim.now)).isTrue();
        final Outcome o = new Outcome();
        final TcpRequest withNote = new TcpRequest(TransferOp.WRITE, new ResolvedDescs(0), new ResolvedDescs(0),
            "peer", o, MIB, 0, MIB, 256);
        assertThat(sim.scheduler.submit(withNote, "n".getBytes(), sim.now)).isFalse();
        sim.run(() -> o.completions > 0);
        assertThat(o.completions).isEqualTo(1);
    }

    /** Past ack_timeout_ms from a chunk's first write the link is overdue; a path silent while others answer is left. */
    @Test
    void ackDeadlinesFailTheLinkOrLeaveAStalledPath()
    {
        final Sim sim = new Sim(false, new double[] {1.0, 1.0}, 50_000, i -> fixed(8L * MIB));
        final Outcome o = new Outcome();
        final TcpRequest r = request(TransferOp.WRITE, 16L * MIB, o);
        sim.scheduler.submit(r, null, sim.now);
        sim.writeAll();
        final long t0 = sim.now;
        assertThat(sim.scheduler.checkDeadlines(t0 + 400_000_000L)).as("nothing is late yet").isNull();
        // path 0 answers its first chunk late, path 1 never does
        final PathState p0 = sim.paths.get(0);
        final PathState p1 = sim.paths.get(1);
        sim.now = t0 + 10_000_000L;
        sim.scheduler.onReply(p0, p0.unacked.peekFirst().id, Frames.OK, "", sim.now, sim.out);
        final LinkScheduler.Overdue stalled = sim.scheduler.checkDeadlines(t0 + 501_000_000L);
        assertThat(stalled).isNotNull();
        assertThat(stalled.wholeLink()).isFalse();
        assertThat(stalled.path()).isSameAs(p1);
        sim.scheduler.pathFailed(p1, t0 + 501_000_000L);
        sim.writeAll();
        final LinkScheduler.Overdue expired = sim.scheduler.checkDeadlines(t0 + 2_001_000_000L);
        assertThat(expired).as("the deadline belongs to the data, wherever it moved").isNotNull();
        assertThat(expired.wholeLink()).isTrue();
        final List<TcpRequest> lost = sim.scheduler.stop("peer silent", true);
        assertThat(lost).containsExactly(r);
        assertThat(sim.scheduler.stop("again", true)).isNull();
        assertThatThrownBy(() -> sim.scheduler.submit(request(TransferOp.WRITE, MIB, new Outcome()), null, sim.now))
            .isInstanceOf(FerryException.class).hasMessageContaining("peer silent")
            .satisfies(e -> assertThat(((FerryException)e).code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT));
    }

    /** A path holds no more than its window; the window grows while RTTs are low and shrinks when they climb. */
    @Test
    void windowsBoundWhatIsInFlightAndFollowTheDelay()
    {
        final Sim fixedSim = new Sim(false, new double[] {1.0}, 50_000, i -> fixed(2L * MIB));
        final Outcome o = new Outcome();
        fixedSim.scheduler.submit(request(TransferOp.WRITE, 16L * MIB, o), null, fixedSim.now);
        assertThat(fixedSim.paths.get(0).unacked).hasSize(2);
        assertThat(fixedSim.paths.get(0).inflightBytes()).isEqualTo(2L * MIB);

        // a long link (20 ms each way): 8 MiB is less than it holds, so round trips stay at the base
        final Sim sim = new Sim(false, new double[] {1.0}, 20_000_000, i -> swift());
        final PathState p = sim.paths.get(0);
        final long initial = p.controller.windowBytes();
        final Outcome a = new Outcome();
        sim.transfer(request(TransferOp.WRITE, 64L * MIB, a), a, null);
        final long grown = p.controller.windowBytes();
        assertThat(grown).as("low delay grows the window").isGreaterThan(initial);
        // now every answer takes ten times as long: the delay is far over the target
        final Outcome b = new Outcome();
        final TcpRequest slow = request(TransferOp.WRITE, 32L * MIB, b);
        sim.scheduler.submit(slow, null, sim.now);
        while (b.completions == 0)
        {
            sim.writeAll();
            final Chunk c = p.unacked.peekFirst();
            sim.now += 50L * (c.bytes + 1);
            sim.scheduler.onReply(p, c.id, Frames.OK, "", sim.now, sim.out);
            sim.out.deliver();
        }
        assertThat(p.controller.windowBytes()).as("high delay shrinks it").isLessThan(grown);
    }

    /** A refused chunk fails its post with the peer's reason; a reply for a chunk never written is a protocol error. */
    @Test
    void aRefusalFailsThePostAndAnUnknownReplyIsRefused()
    {
        final Sim sim = new Sim(false, new double[] {1.0}, 50_000, i -> fixed(8L * MIB));
        final Outcome o = new Outcome();
        final TcpRequest r = request(TransferOp.WRITE, 2L * MIB, o);
        sim.scheduler.submit(r, "n".getBytes(), sim.now);
        sim.writeAll();
        final PathState p = sim.paths.get(0);
        sim.scheduler.onReply(p, p.unacked.peekFirst().id, Frames.OUT_OF_BOUNDS, "offset past the region", sim.now,
            sim.out);
        sim.out.deliver();
        assertThat(o.completions).isEqualTo(1);
        assertThat(o.error.getMessage()).contains("offset past the region").contains("peer 'peer'");
        boolean told = false;
        for (final Chunk c : p.unacked)
        {
            told |= c.isNotification() && Frames.NOTIFY_FAILURE == c.notifyKind;
        }
        assertThat(told).as("the target hears why the notified WRITE failed").isTrue();
        assertThatThrownBy(() -> sim.scheduler.onReply(p, 0xdeadL, Frames.OK, "", sim.now, sim.out))
            .isInstanceOf(IllegalStateException.class).hasMessageContaining("dead");
    }

    /**
     * A path that answered earlier chunks after its oldest one was written, then went silent (its link went down
     * mid-transfer, chunks pipelined on it), is left once it has been silent for a quarter of the deadline while
     * the others were answered: its chunks move on well before their own deadline.
     */
    @Test
    void aPipelinedPathThatGoesSilentIsLeftBeforeTheDeadline()
    {
        final Sim sim = new Sim(false, new double[] {1.0, 1.0}, 50_000, i -> fixed(8L * MIB));
        final Outcome o = new Outcome();
        final TcpRequest r = request(TransferOp.WRITE, 64L * MIB, o);
        sim.scheduler.submit(r, null, sim.now);
        sim.writeAll();
        final PathState p0 = sim.paths.get(0);
        final PathState p1 = sim.paths.get(1);
        final long t0 = sim.now;
        // path 1 answers its first two chunks after all of its chunks were written, then nothing more
        sim.now = t0 + 2_000_000L;
        sim.scheduler.onReply(p1, p1.unacked.peekFirst().id, Frames.OK, "", sim.now, sim.out);
        sim.now = t0 + 3_000_000L;
        sim.scheduler.onReply(p1, p1.unacked.peekFirst().id, Frames.OK, "", sim.now, sim.out);
        sim.writeAll();
        assertThat(p1.lastReplyNs).as("answers came after the oldest outstanding chunk was written")
            .isGreaterThan(p1.oldestSent().sentNs);
        // path 0 keeps being answered
        long t = sim.now;
        while (t < t0 + 600_000_000L)
        {
            t += 10_000_000L;
            sim.now = t;
            final Chunk c = p0.unacked.peekFirst();
            if (null != c && 0 != c.sentNs)
            {
                sim.scheduler.onReply(p0, c.id, Frames.OK, "", sim.now, sim.out);
            }
            sim.writeAll();
            final LinkScheduler.Overdue overdue = sim.scheduler.checkDeadlines(sim.now);
            if (null != overdue)
            {
                assertThat(overdue.wholeLink()).isFalse();
                assertThat(overdue.path()).isSameAs(p1);
                assertThat(sim.now - t0).as("left after about a quarter of ack_timeout_ms")
                    .isBetween(500_000_000L, 530_000_000L);
                return;
            }
        }
        throw new AssertionError("the silent path was never left");
    }
}
