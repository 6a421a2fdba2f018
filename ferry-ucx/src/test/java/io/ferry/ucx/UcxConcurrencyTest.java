package io.ferry.ucx;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import io.ferry.testing.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.ferry.ucx.UcxFixtures.ucxAgent;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many threads posting over one UCX backend at once: every byte lands where it was sent, every notification
 * arrives once, after its data.
 */
@Timeout(120)
@ExtendWith(UcxLeakCheck.class)
class UcxConcurrencyTest
{
    @Test
    void fourThreadsPostingWritesReadsAndNotificationsAtOnce() throws Exception
    {
        final int threads = 4;
        final int rounds = 40;
        final long slice = 1 << 20;
        try (Arena arena = Arena.ofShared(); Agent a = ucxAgent("many", "tcp"); Agent b = ucxAgent("one", "tcp");
            ExecutorService pool = Executors.newFixedThreadPool(threads))
        {
            final MemorySegment la = arena.allocate(threads * slice, 4096);
            final MemorySegment back = arena.allocate(threads * slice, 4096);
            final MemorySegment lb = arena.allocate(threads * slice, 4096);
            a.register(MemoryKind.DRAM, List.of(Region.of(la), Region.of(back)));
            b.register(MemoryKind.DRAM, List.of(Region.of(lb)));
            a.loadRemoteMetadata(b.localMetadata());
            final List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int id = t;
                done.add(pool.submit(() ->
                {
                    final MemorySegment mine = la.asSlice(id * slice, slice);
                    final MemorySegment theirs = lb.asSlice(id * slice, slice);
                    final MemorySegment check = back.asSlice(id * slice, slice);
                    for (int r = 0; r < rounds; r++)
                    {
                        TestData.fill(mine, id * 1000L + r);
                        try (Transfer w = a.createTransfer(TransferOp.WRITE, DescList.dram(mine),
                            DescList.dram(theirs), b.name(), TransferOptions.notify((id + ":" + r)
                            .getBytes(StandardCharsets.UTF_8)));
                            Transfer rd = a.createTransfer(TransferOp.READ, DescList.dram(check),
                                DescList.dram(theirs), b.name(), null))
                        {
                            w.post();
                            w.await(Duration.ofSeconds(30));
                            rd.post();
                            rd.await(Duration.ofSeconds(30));
                        }
                        TestData.assertSameBytes(mine, check);
                    }
                    return null;
                }));
            }
            for (final Future<?> f : done)
            {
                f.get(100, TimeUnit.SECONDS);
            }
            final Set<String> seen = new HashSet<>();
            for (int i = 0; i < threads * rounds; i++)
            {
                final Notification n = b.awaitNotification(Duration.ofSeconds(10));
                assertThat(n.sender()).isEqualTo(a.name());
                assertThat(seen.add(n.payloadAsString())).as("notification %s arrived once", n.payloadAsString())
                    .isTrue();
            }
            assertThat(b.pollNotifications()).isEmpty();
            assertThat(seen).hasSize(threads * rounds);
        }
    }
}
