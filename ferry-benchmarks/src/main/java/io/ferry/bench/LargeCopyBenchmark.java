package io.ferry.bench;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
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
 * One large single-descriptor LOCAL WRITE against a plain {@link MemorySegment#copy} of the same size.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m"})
public class LargeCopyBenchmark
{
    @Param({"1073741824"})
    long bytes;

    Arena arena;
    Agent agent;
    MemorySegment src;
    MemorySegment dst;
    Transfer transfer;

    @Setup(Level.Trial)
    public void setUp()
    {
        arena = Arena.ofShared();
        agent = Agent.create(AgentConfig.builder("bench-large").backends("LOCAL").build());
        src = arena.allocate(bytes, 4096);
        dst = arena.allocate(bytes, 4096);
        src.fill((byte)7);
        dst.fill((byte)0);
        agent.register(MemoryKind.DRAM, List.of(Region.of(src), Region.of(dst)));
        transfer = agent.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(dst), agent.name(),
            TransferOptions.NONE);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        agent.close();
        arena.close();
    }

    /** The baseline. */
    @Benchmark
    public void segmentCopy()
    {
        MemorySegment.copy(src, 0, dst, 0, bytes);
    }

    /** The same bytes through a posted LOCAL transfer. */
    @Benchmark
    public Transfer ferryLocalWrite()
    {
        transfer.post();
        transfer.await(Duration.ofSeconds(30));
        return transfer;
    }
}
