package io.ferry.contract;

import io.ferry.Agent;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static io.ferry.testing.TestData.assertSameBytes;
import static io.ferry.testing.TestData.fill;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a remote backend must do between two agents of one process, written once: an 8 MiB WRITE with a
 * notification that arrives after the data, then a READ of 100,000 bytes at an odd offset.
 */
public final class InProcessContract
{
    private InProcessContract()
    {
    }

    /**
     * @param arena   where both regions come from.
     * @param a       the initiator.
     * @param b       the target (its metadata is loaded into {@code a} here).
     * @param backend the backend both transfers must go by.
     */
    public static void writeReadAndNotify(final Arena arena, final Agent a, final Agent b, final String backend)
    {
        final MemorySegment la = arena.allocate(8 << 20, 4096);
        final MemorySegment lb = arena.allocate(8 << 20, 4096);
        a.register(MemoryKind.DRAM, List.of(Region.of(la)));
        b.register(MemoryKind.DRAM, List.of(Region.of(lb)));
        a.loadRemoteMetadata(b.localMetadata());
        fill(la, 7);
        final Transfer w = a.createTransfer(TransferOp.WRITE, DescList.dram(la), DescList.dram(lb), b.name(),
            TransferOptions.notify("done".getBytes(StandardCharsets.UTF_8)));
        w.post();
        w.await(Duration.ofSeconds(30));
        assertThat(w.backend()).isEqualTo(backend);
        assertSameBytes(la, lb);
        final Notification n = b.awaitNotification(Duration.ofSeconds(10));
        assertThat(n.sender()).isEqualTo(a.name());
        assertThat(n.payloadAsString()).isEqualTo("done");

        fill(lb.asSlice(4096, 100_000), 9);
        final Transfer r = a.createTransfer(TransferOp.READ, DescList.dram(la.asSlice(0, 100_000)),
            DescList.dram(lb.asSlice(4096, 100_000)), b.name(), null);
        r.post();
        r.await(Duration.ofSeconds(30));
        assertThat(r.backend()).isEqualTo(backend);
        assertSameBytes(lb.asSlice(4096, 100_000), la.asSlice(0, 100_000));
    }
}
