package io.ferry.file;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.Fixtures.expectError;
import static io.ferry.testing.TestData.fill;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The FILE backend on real files in a temporary directory (on the build machine's disk, where O_DIRECT works),
 * through both engines and both I/O modes.
 */
@Timeout(300)
class FileBackendTest
{
    @TempDir
    Path dir;

    static Agent fileAgent(final String... params)
    {
        final Map<String, String> p = new HashMap<>();
        for (int i = 0; i + 1 < params.length; i += 2)
        {
            p.put(params[i], params[i + 1]);
        }
        return Agent.create(AgentConfig.builder(unique("file")).backend("FILE", p)
            .defaultTimeout(Duration.ofSeconds(60)).build());
    }

    private static void run(final Agent agent, final TransferOp op, final DescList memory, final DescList file,
        final TransferOptions options)
    {
        final Transfer t = agent.createTransfer(op, memory, file, agent.name(), options);
        t.post();
        t.await(Duration.ofSeconds(120));
        assertThat(t.backend()).isEqualTo("FILE");
        t.close();
    }

    private static DescList file(final long fileId, final long offset, final long length)
    {
        return DescList.builder(MemoryKind.FILE).add(offset, length, fileId).build();
    }

    @ParameterizedTest
    @CsvSource({"io_uring, auto", "io_uring, never", "posix, auto", "posix, never"})
    void everySizeWrittenAndReadBackByteForByte(final String engine, final String direct) throws Exception
    {
        if ("io_uring".equals(engine))
        {
            try (Agent probe = fileAgent("engine", "io_uring"))
            {
                probe.name();
            }
            catch (final FerryException ex)
            {
                assumeThat(ex.getMessage()).as("io_uring is refused on this host: the POSIX cases run").isNull();
            }
        }
        final long max = 256L << 20;
        try (Arena arena = Arena.ofShared(); Agent agent = fileAgent("engine", engine, "direct", direct))
        {
            final MemorySegment src = arena.allocate(max, 4096);
            final MemorySegment dst = arena.allocate(max, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(src), Region.of(dst)));
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(dir.resolve("kv.bin"), 1,
                FileRegions.FileAccess.CREATE)));
            fill(src, 42);
            final SplittableRandom random = new SplittableRandom(3);
            for (final long size : new long[]{1, 511, 4096, 65_537, (1 << 20) + 4096, 16L << 20, max})
            {
                final long offset = size == max ? 0 : 4096L * random.nextInt(1024);
                run(agent, TransferOp.WRITE, DescList.dram(src.asSlice(0, size)), file(1, offset, size),
                    TransferOptions.NONE);
                dst.asSlice(0, size).fill((byte)0);
                final Transfer r = agent.createTransfer(TransferOp.READ, DescList.dram(dst.asSlice(0, size)),
                    file(1, offset, size), agent.name(), TransferOptions.NONE);
                r.post();
                r.await(Duration.ofSeconds(120));
                assertSameBytes(src.asSlice(0, size), dst.asSlice(0, size));
                final String route = r.telemetry().route();
                assertThat(route).startsWith("posix".equals(engine) ? "POSIX" : "io_uring");
                if ("never".equals(direct) || size % 4096 != 0)
                {
                    assertThat(route).contains("buffered");
                }
            }
            assertThat(Files.size(dir.resolve("kv.bin"))).isEqualTo(max);
        }
    }

    @Test
    void randomDescriptorListsFromSeveralThreadsWithNotificationsAfterTheData() throws Exception
    {
        final int slot = 64 << 10;
        try (Arena arena = Arena.ofShared(); Agent agent = fileAgent())
        {
            final MemorySegment mem = arena.allocate(4L * 2000 * slot, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(dir.resolve("blocks.bin"), 9,
                FileRegions.FileAccess.CREATE)));
            final List<CompletableFuture<Void>> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++)
            {
                final int thread = t;
                threads.add(CompletableFuture.runAsync(() ->
                {
                    final SplittableRandom random = new SplittableRandom(thread);
                    final MemorySegment mine = mem.asSlice((long)thread * 2000 * slot, 2000L * slot);
                    for (int round = 0; round < 5; round++)
                    {
                        final int n = 1 + random.nextInt(1000);
                        final int[] slots = io.ferry.testing.TestData.permutation(n, new java.util.Random(round));
                        final DescList.Builder mb = DescList.builder(MemoryKind.DRAM, n);
                        final DescList.Builder fb = DescList.builder(MemoryKind.FILE, n);
                        final long[] lens = new long[n];
                        for (int i = 0; i < n; i++)
                        {
                            lens[i] = 1 + random.nextInt(slot);
                            mb.add(mine.address() + (long)i * slot, lens[i]);
                            fb.add(((long)thread * 2000 + slots[i]) * slot, lens[i], 9);
                        }
                        fill(mine, thread * 100 + round);
                        final MemorySegment expected = Arena.ofAuto().allocate(mine.byteSize());
                        expected.copyFrom(mine);
                        run(agent, TransferOp.WRITE, mb.build(), fb.build(), TransferOptions.notify(
                            ("t" + thread + "r" + round).getBytes(StandardCharsets.UTF_8)));
                        mine.fill((byte)0);
                        run(agent, TransferOp.READ, mb.build(), fb.build(), TransferOptions.NONE);
                        for (int i = 0; i < n; i++)
                        {
                            assertSameBytes(expected.asSlice((long)i * slot, lens[i]), mine.asSlice((long)i * slot,
                                lens[i]));
                        }
                    }
                }));
            }
            CompletableFuture.allOf(threads.toArray(CompletableFuture[]::new)).get();
            final List<String> got = new ArrayList<>();
            for (int i = 0; i < 20; i++)
            {
                got.add(agent.awaitNotification(Duration.ofSeconds(10)).payloadAsString());
            }
            assertThat(got).hasSize(20).allMatch(s -> s.matches("t[0-3]r[0-4]"));
        }
    }

    @Test
    void storageErrorsNameTheFileAndOffsetAndLoseNothing() throws Exception
    {
        try (Arena arena = Arena.ofShared(); Agent agent = fileAgent())
        {
            final MemorySegment mem = arena.allocate(1 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            // a missing file
            assertThat(expectError(ErrorCode.NOT_FOUND, () -> agent.register(MemoryKind.FILE, List.of(
                FileRegions.of(dir.resolve("missing.bin"), 1, FileRegions.FileAccess.READ_WRITE)))).getMessage())
                .contains("missing.bin");
            // a READ past the end of the file, and a file truncated under its registration
            final Path small = dir.resolve("small.bin");
            Files.write(small, new byte[8192]);
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(small, 2, FileRegions.FileAccess.READ_WRITE)));
            final Transfer past = agent.createTransfer(TransferOp.READ, DescList.dram(mem.asSlice(0, 16384)),
                file(2, 0, 16384), agent.name(), TransferOptions.NONE);
            past.post();
            final FerryException ex = catchThrowableOfType(FerryException.class, () ->
                past.await(Duration.ofSeconds(10)));
            assertThat(ex.getMessage()).contains("small.bin").contains("past the end of the file");
            try (RandomAccessFile f = new RandomAccessFile(small.toFile(), "rw"))
            {
                f.setLength(100);
            }
            final Transfer truncated = agent.createTransfer(TransferOp.READ, DescList.dram(mem.asSlice(0, 4096)),
                file(2, 4096, 4096), agent.name(), TransferOptions.notify("x".getBytes(StandardCharsets.UTF_8)));
            truncated.post();
            assertThat(catchThrowableOfType(FerryException.class, () -> truncated.await(Duration.ofSeconds(10)))
                .getMessage()).contains("offset 4096 of " + small).contains("past the end");
            assertThat(agent.awaitNotification(Duration.ofSeconds(5)).isFailure()).isTrue();
            // a READ_ONLY registration refuses WRITEs at the request
            final Path ro = dir.resolve("ro.bin");
            Files.write(ro, new byte[4096]);
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(ro, 3, FileRegions.FileAccess.READ_ONLY)));
            assertThat(expectError(ErrorCode.NOT_ALLOWED, () -> agent.createTransfer(TransferOp.WRITE,
                DescList.dram(mem.asSlice(0, 4096)), file(3, 0, 4096), agent.name(), TransferOptions.NONE))
                .getMessage()).contains("READ_ONLY");
            // the other requests go on
            run(agent, TransferOp.READ, DescList.dram(mem.asSlice(0, 4096)), file(3, 0, 4096), TransferOptions.NONE);
        }
    }

    @Test
    void anUnalignedSpanIsRefusedWhenDirectIsRequiredAndSyncedWritesSayIt() throws Exception
    {
        assumeThat(directWorksIn(dir)).as("O_DIRECT in " + dir).isTrue();
        try (Arena arena = Arena.ofShared(); Agent agent = fileAgent("direct", "always"))
        {
            final MemorySegment mem = arena.allocate(1 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(dir.resolve("d.bin"), 4, 0, 0,
                FileRegions.FileAccess.CREATE, FileRegions.FileSync.FDATASYNC)));
            assertThat(expectError(ErrorCode.INVALID_PARAM, () -> agent.createTransfer(TransferOp.WRITE,
                DescList.dram(mem.asSlice(1, 4096)), file(4, 0, 4096), agent.name(), TransferOptions.NONE))
                .getMessage()).contains("d.bin").contains("not aligned to 4096");
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(mem.asSlice(0, 65536)),
                file(4, 8192, 65536), agent.name(), TransferOptions.NONE);
            t.post();
            t.await(Duration.ofSeconds(10));
            assertThat(t.telemetry().route()).contains("O_DIRECT").contains("synced");
        }
    }

    @Test
    void aFullFileSystemFailsTheWriteAndNothingIsReportedDone() throws Exception
    {
        assumeThat(System.getProperty("user.name")).isEqualTo("root");
        final Path mount = Files.createDirectory(dir.resolve("small-fs"));
        assumeThat(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "ferry-test", mount.toString())
            .inheritIO().start().waitFor()).as("a size-limited tmpfs can be mounted").isZero();
        try (Arena arena = Arena.ofShared(); Agent agent = fileAgent())
        {
            final MemorySegment mem = arena.allocate(4 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            agent.register(MemoryKind.FILE, List.of(FileRegions.of(mount.resolve("full.bin"), 5,
                FileRegions.FileAccess.CREATE)));
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(mem), file(5, 0, 4 << 20),
                agent.name(), TransferOptions.NONE);
            t.post();
            final FerryException ex = catchThrowableOfType(FerryException.class, () ->
                t.await(Duration.ofSeconds(10)));
            assertThat(ex.code()).isEqualTo(ErrorCode.BACKEND);
            assertThat(ex.getMessage()).contains("full.bin").contains("no space left");
            // tmpfs has no O_DIRECT: the route says buffered
            run(agent, TransferOp.WRITE, DescList.dram(mem.asSlice(0, 4096)), file(5, 0, 4096), TransferOptions.NONE);
        }
        finally
        {
            new ProcessBuilder("umount", "-l", mount.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void closeLeavesNoDescriptorOrThreadAndDeregisteredFilesAreRefused() throws Exception
    {
        try (Agent warm = fileAgent())
        {
            warm.name(); // the JDK opens what it keeps for good on first use
        }
        final long fds = descriptors();
        final String name;
        try (Arena arena = Arena.ofShared(); Agent agent = fileAgent())
        {
            name = agent.name();
            final MemorySegment mem = arena.allocate(1 << 20, 4096);
            agent.register(MemoryKind.DRAM, List.of(Region.of(mem)));
            final Registration reg = agent.register(MemoryKind.FILE, List.of(FileRegions.of(dir.resolve("c.bin"), 6,
                FileRegions.FileAccess.CREATE)));
            final Transfer t = agent.createTransfer(TransferOp.WRITE, DescList.dram(mem), file(6, 0, 1 << 20),
                agent.name(), TransferOptions.NONE);
            t.post();
            t.await(Duration.ofSeconds(10));
            reg.close();
            expectError(ErrorCode.NOT_FOUND, t::post);
        }
        assertThat(Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() &&
            t.getName().contains(name))).isEmpty();
        assertThat(descriptors()).isEqualTo(fds);
    }

    private static boolean directWorksIn(final Path where)
    {
        try
        {
            io.ferry.internal.Posix.close(FileCalls.open(where.resolve("probe").toString(), FileCalls.O_RDWR |
                FileCalls.O_CREAT | FileCalls.O_DIRECT, 0600));
            return true;
        }
        catch (final io.ferry.internal.SystemCallException ex)
        {
            return false;
        }
    }

    private static long descriptors() throws IOException
    {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd")))
        {
            return s.count();
        }
    }
}
