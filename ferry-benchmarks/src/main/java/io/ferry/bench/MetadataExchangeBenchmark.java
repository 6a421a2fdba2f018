package io.ferry.bench;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.MemoryKind;
import io.ferry.Region;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The socket metadata exchange of an agent with N registrations (NIXL tests 10,000): one fetch = encode at the
 * owner, send over loopback, decode and load into a peer that had not loaded it (invalidated before each call).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 20)
@Measurement(iterations = 30)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class MetadataExchangeBenchmark
{
    @Param({"10000"})
    int registrations;

    Arena arena;
    Agent owner;
    Agent peer;
    int port;

    @Setup(Level.Trial)
    public void setUp()
    {
        arena = Arena.ofShared();
        owner = Agent.create(AgentConfig.builder("md-owner").backends("LOCAL").listenAddress("127.0.0.1").build());
        peer = Agent.create(AgentConfig.builder("md-peer").backends("LOCAL").listenAddress("127.0.0.1").build());
        final MemorySegment mem = arena.allocate((long)registrations * 256, 4096);
        final List<Region> regions = new ArrayList<>(registrations);
        for (int i = 0; i < registrations; i++)
        {
            regions.add(Region.of(mem.asSlice((long)i * 256, 256)));
        }
        owner.register(MemoryKind.DRAM, regions);
        port = owner.metadataAddress().orElseThrow().getPort();
    }

    @Setup(Level.Invocation)
    public void forget()
    {
        if (peer.peers().contains("md-owner"))
        {
            peer.invalidateRemote("md-owner");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        owner.close();
        peer.close();
        arena.close();
    }

    /** Fetch and load the owner's full metadata. */
    @Benchmark
    public String fetchAndLoad()
    {
        return peer.fetchMetadata("127.0.0.1", port).join();
    }
}
