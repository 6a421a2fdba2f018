package io.ferry.connect;

import io.ferry.testing.TestData;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Readable and writable operations between this JVM and a child JVM over real TCP sockets, both directions,
 * bytes verified by CRC32C on both sides; and a peer killed in the middle of a write.
 */
@Timeout(120)
class TwoProcessConnectTest
{
    private static final long SIZE = 24L << 20;
    private static Connector local;
    private static Arena arena;

    @BeforeAll
    static void start()
    {
        local = Connector.create(Fixtures.unique("parent"));
        arena = Arena.ofShared();
    }

    @AfterAll
    static void stop()
    {
        local.close();
        arena.close();
    }

    private static MemorySegment filled(final long size, final long seed)
    {
        final MemorySegment m = arena.allocate(size, 4096);
        TestData.fill(m, seed);
        return m;
    }

    @Test
    void childReadsOurReadableAndWeReadTheChilds() throws Exception
    {
        try (ConnectPeer child = new ConnectPeer(Fixtures.unique("child")))
        {
            final MemorySegment ours = filled(SIZE, 11);
            try (Operation readable = local.createReadable(List.of(Descriptor.of(ours))))
            {
                final String answer = child.command("read " + readable.metadata().toJson(), 60);
                assertThat(answer).isEqualTo("COMPLETE " + ConnectPeerMain.crc(ours));
                readable.awaitCompletion(Duration.ofSeconds(10));
                assertThat(readable.status()).isEqualTo(OperationStatus.COMPLETE);
                assertThat(readable.peer()).startsWith("child");
            }

            final TransferMetadata theirs = TransferMetadata.fromJson(child.command("readable " + SIZE + " 12", 30));
            final MemorySegment into = arena.allocate(SIZE, 4096);
            try (Operation read = local.beginRead(theirs, List.of(Descriptor.of(into))))
            {
                read.awaitCompletion(Duration.ofSeconds(30));
            }
            TestData.assertSameBytes(filled(SIZE, 12), into);
            assertThat(child.command("await 10", 20)).isEqualTo("COMPLETE " + ConnectPeerMain.crc(into));
        }
    }

    @Test
    void childWritesOurWritableAndWeWriteTheChilds() throws Exception
    {
        try (ConnectPeer child = new ConnectPeer(Fixtures.unique("child")))
        {
            final MemorySegment ours = arena.allocate(SIZE, 4096);
            try (Operation writable = local.createWritable(List.of(Descriptor.of(ours))))
            {
                final String answer = child.command("write 21 " + writable.metadata().toJson(), 60);
                writable.awaitCompletion(Duration.ofSeconds(10));
                TestData.assertSameBytes(filled(SIZE, 21), ours);
                assertThat(answer).isEqualTo("COMPLETE " + ConnectPeerMain.crc(ours));
            }

            final TransferMetadata theirs = TransferMetadata.fromJson(child.command("writable " + SIZE, 30));
            final MemorySegment from = filled(SIZE, 22);
            try (Operation write = local.beginWrite(List.of(Descriptor.of(from)), theirs))
            {
                write.awaitCompletion(Duration.ofSeconds(30));
            }
            assertThat(child.command("await 10", 20)).isEqualTo("COMPLETE " + ConnectPeerMain.crc(from));
        }
    }

    @Test
    void writerKilledMidOperationEndsTheWritableErroredWellBeforeItsDeadline() throws Exception
    {
        final long size = 512L << 20;
        final MemorySegment ours = arena.allocate(size, 4096);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try (ConnectPeer child = new ConnectPeer(Fixtures.unique("doomed"));
                Operation writable = local.createWritable(List.of(Descriptor.of(ours))))
            {
                assertThat(child.command("write-nowait 5 " + writable.metadata().toJson(), 30)).isEqualTo("BEGUN");
                final long deadline = System.nanoTime() + 10_000_000_000L;
                while (OperationStatus.INITIALIZED == writable.status() && System.nanoTime() < deadline)
                {
                    Thread.onSpinWait();
                }
                child.process.destroyForcibly();
                final long killedAt = System.nanoTime();
                try
                {
                    writable.awaitCompletion(Duration.ofSeconds(30));
                    continue; // the whole write landed before the kill: try again
                }
                catch (final FerryException ex)
                {
                    assertThat(ex.code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);
                    assertThat(ex.getMessage()).contains("lost peer doomed");
                }
                assertThat(writable.status()).isEqualTo(OperationStatus.ERRORED);
                assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(10));
                return;
            }
        }
        throw new AssertionError("the write finished before the kill three times in a row");
    }
}
