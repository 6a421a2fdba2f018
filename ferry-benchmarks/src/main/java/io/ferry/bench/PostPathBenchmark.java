package io.ferry.bench;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.PreparedList;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The post path of a request of N descriptors of 4 KiB between two in-process agents (LOCAL backend), against the
 * same N copies done with {@link MemorySegment#copy} directly. No descriptor merges: every one of the N pays its
 * full cost. Two layouts: {@code distinct} gives every descriptor its own 4 KiB on both sides (80 MiB each at
 * N = 20,480: memory-bound copies, cold bookkeeping, as in a real KV transfer), {@code sameBlock} points every
 * descriptor at the same 4 KiB block on each side (the copies stay in L1, so the bookkeeping cost stands out).
 * <p>
 * Per-descriptor host overhead = (ferry time - raw copy time) / N.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class PostPathBenchmark
{
    static final int BLOCK = 4096;

    @Param({"1", "1000", "20480"})
    int descriptors;

    @Param({"distinct", "sameBlock"})
    String layout;

    Arena arena;
    Agent initiator;
    Agent target;
    String peer;
    MemorySegment src;
    MemorySegment dst;
    DescList localDescs;
    DescList remoteDescs;
    PreparedList local;
    PreparedList remote;
    int[] localIdx;
    int[] remoteIdx;
    Transfer reusable;
    long[] srcOff;
    long[] dstOff;

    @Setup(Level.Trial)
    public void setUp()
    {
        arena = Arena.ofShared();
        initiator = Agent.create(AgentConfig.builder("bench-init").backends("LOCAL").build());
        target = Agent.create(AgentConfig.builder("bench-target").backends("LOCAL").build());
        final boolean same = "sameBlock".equals(layout);
        final long bytes = same ? BLOCK : (long)descriptors * BLOCK;
        src = arena.allocate(bytes, 4096);
        dst = arena.allocate(bytes, 4096);
        src.fill((byte)1);
        dst.fill((byte)0);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(src)));
        target.register(MemoryKind.DRAM, List.of(Region.of(dst)));
        peer = initiator.loadRemoteMetadata(target.localMetadata());

        final DescList.Builder lb = DescList.builder(MemoryKind.DRAM, descriptors);
        final DescList.Builder rb = DescList.builder(MemoryKind.DRAM, descriptors);
        srcOff = new long[descriptors];
        dstOff = new long[descriptors];
        for (int i = 0; i < descriptors; i++)
        {
            srcOff[i] = same ? 0 : (long)i * BLOCK;
            dstOff[i] = same ? 0 : (long)(descriptors - 1 - i) * BLOCK;
            lb.add(src.address() + srcOff[i], BLOCK);
            rb.add(dst.address() + dstOff[i], BLOCK);
        }
        localDescs = lb.build();
        remoteDescs = rb.build();
        local = initiator.prepare(localDescs);
        remote = initiator.prepare(peer, remoteDescs);
        localIdx = new int[descriptors];
        remoteIdx = new int[descriptors];
        for (int i = 0; i < descriptors; i++)
        {
            localIdx[i] = i;
            remoteIdx[i] = i;
        }
        reusable = initiator.transfer(TransferOp.WRITE, local, localIdx, remote, remoteIdx, TransferOptions.NONE);
        if (descriptors > 1 && reusable.descriptorCount() != descriptors)
        {
            throw new IllegalStateException("descriptors merged: " + reusable.descriptorCount());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        initiator.close();
        target.close();
        arena.close();
    }

    /** The baseline: the same copies, by hand. */
    @Benchmark
    public void rawCopies()
    {
        for (int i = 0; i < descriptors; i++)
        {
            MemorySegment.copy(src, srcOff[i], dst, dstOff[i], BLOCK);
        }
    }

    /** prepare both lists + make + post + completion: the whole path from descriptor lists. */
    @Benchmark
    public Transfer prepareMakePostComplete()
    {
        final PreparedList l = initiator.prepare(localDescs);
        final PreparedList r = initiator.prepare(peer, remoteDescs);
        final Transfer t = initiator.transfer(TransferOp.WRITE, l, localIdx, r, remoteIdx, TransferOptions.NONE);
        t.post();
        t.await(Duration.ofSeconds(10));
        return t;
    }

    /** make + post + completion from lists prepared once (the fast path a KV connector uses). */
    @Benchmark
    public Transfer makePostComplete()
    {
        final Transfer t = initiator.transfer(TransferOp.WRITE, local, localIdx, remote, remoteIdx,
            TransferOptions.NONE);
        t.post();
        t.await(Duration.ofSeconds(10));
        return t;
    }

    /** post + completion of a request made once. */
    @Benchmark
    public Transfer repost()
    {
        reusable.post();
        reusable.await(Duration.ofSeconds(10));
        return reusable;
    }
}
