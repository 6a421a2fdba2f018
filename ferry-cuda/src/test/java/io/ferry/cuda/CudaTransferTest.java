package io.ferry.cuda;

import io.ferry.testing.TestData;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.Fixtures;
import io.ferry.MemoryDesc;
import io.ferry.MemoryKind;
import io.ferry.Notification;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every copy combination of the CUDA backend inside one agent (loopback), with many descriptors of random sizes at
 * scattered offsets, every byte checked; and bad input refused with a clear error. Needs a GPU; skipped elsewhere.
 */
@Timeout(120)
class CudaTransferTest
{
    private static final long SIZE = 8L << 20;
    private Agent agent;
    private Arena arena;
    private final List<long[]> allocations = new ArrayList<>();

    @BeforeEach
    void start()
    {
        Gpu.require();
        agent = Agent.create(AgentConfig.builder(Fixtures.unique("gpu")).backends("CUDA").build());
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop()
    {
        if (null != agent)
        {
            agent.close();
            arena.close();
            allocations.forEach(a -> Gpu.free((int)a[0], a[1]));
        }
    }

    /** Memory of one kind: host (device -1) or VRAM on a device, with its host mirror for checking. */
    private record Side(MemoryKind kind, int device, long address, MemorySegment host)
    {
        MemorySegment contents()
        {
            if (MemoryKind.DRAM == kind)
            {
                return host;
            }
            final MemorySegment copy = Arena.ofAuto().allocate(SIZE, 64);
            Gpu.download(device, copy, address);
            return copy;
        }
    }

    private Side side(final int device, final long seed)
    {
        final MemorySegment host = arena.allocate(SIZE, 4096);
        TestData.fill(host, seed);
        if (device < 0)
        {
            agent.register(MemoryKind.DRAM, List.of(Region.of(host)));
            return new Side(MemoryKind.DRAM, -1, host.address(), host);
        }
        final long p = Gpu.alloc(device, SIZE);
        allocations.add(new long[] {device, p});
        Gpu.upload(device, p, host);
        agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(p, SIZE, device)));
        return new Side(MemoryKind.VRAM, device, p, host);
    }

    private void moveAndCheck(final int fromDevice, final int toDevice, final TransferOp op, final long seed)
    {
        final Side from = side(fromDevice, seed);
        final Side to = side(toDevice, seed + 1);
        final MemorySegment expected = Arena.ofAuto().allocate(SIZE, 64);
        MemorySegment.copy(to.contents(), 0, expected, 0, SIZE);
        final Random rnd = new Random(seed);
        final int n = 500;
        final long[] len = new long[n];
        final long[] srcOff = new long[n];
        long at = 0;
        for (int k = 0; k < n; k++)
        {
            len[k] = 1 + rnd.nextInt((int)(SIZE / n - 1));
            srcOff[k] = at;
            at += len[k];
        }
        final int[] order = new int[n];
        for (int k = 0; k < n; k++)
        {
            order[k] = k;
        }
        for (int k = n - 1; k > 0; k--)
        {
            final int j = rnd.nextInt(k + 1);
            final int t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        final long[] dstOff = new long[n];
        long dat = 7;
        for (final int k : order)
        {
            dstOff[k] = dat;
            dat += len[k] + 3;
        }
        final DescList.Builder src = DescList.builder(from.kind, n);
        final DescList.Builder dst = DescList.builder(to.kind, n);
        for (int k = 0; k < n; k++)
        {
            src.add(new MemoryDesc(from.address + srcOff[k], len[k], Math.max(0, from.device)));
            dst.add(new MemoryDesc(to.address + dstOff[k], len[k], Math.max(0, to.device)));
            MemorySegment.copy(from.host, srcOff[k], expected, dstOff[k], len[k]);
        }
        final Transfer t = TransferOp.WRITE == op ?
            agent.createTransfer(op, src.build(), dst.build(), agent.name(), TransferOptions.notify(new byte[] {42})) :
            agent.createTransfer(op, dst.build(), src.build(), agent.name(), TransferOptions.notify(new byte[] {42}));
        assertThat(t.backend()).isEqualTo("CUDA");
        t.post();
        t.await(Duration.ofSeconds(30));
        final Notification note = agent.awaitNotification(Duration.ofSeconds(10));
        assertThat(note.payload()).containsExactly(42);
        TestData.assertSameBytes(expected, to.contents());
    }

    @Test
    void vramToVramOnOneDevice()
    {
        moveAndCheck(0, 0, TransferOp.WRITE, 1);
        moveAndCheck(0, 0, TransferOp.READ, 2);
    }

    @Test
    void vramToAndFromHost()
    {
        moveAndCheck(0, -1, TransferOp.WRITE, 3);
        moveAndCheck(-1, 0, TransferOp.WRITE, 4);
        moveAndCheck(0, -1, TransferOp.READ, 5);
        moveAndCheck(-1, 0, TransferOp.READ, 6);
        moveAndCheck(-1, -1, TransferOp.WRITE, 7);
    }

    @Test
    void vramAcrossDevices()
    {
        org.junit.jupiter.api.Assumptions.assumeTrue(Gpu.devices() > 1, "one GPU: cross-device copies skipped");
        moveAndCheck(0, 1, TransferOp.WRITE, 8);
        moveAndCheck(1, 0, TransferOp.READ, 9);
    }

    @Test
    void badDeviceMemoryIsRefusedWithAClearError()
    {
        final long p = Gpu.alloc(0, 1 << 20);
        allocations.add(new long[] {0, p});
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.VRAM,
            List.of(Region.ofAddress(p, 2 << 20, 0)))).getMessage()).contains("runs past the end of its allocation");
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.VRAM,
            List.of(Region.ofAddress(p, 4096, 99)))).getMessage()).contains("device id 99 does not exist");
        if (Gpu.devices() > 1)
        {
            assertThat(expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.VRAM,
                List.of(Region.ofAddress(p, 4096, 1)))).getMessage()).contains("lives on cuda:0, not cuda:1");
        }
        final long freed = Gpu.alloc(0, 1 << 20);
        Gpu.free(0, freed);
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.VRAM,
            List.of(Region.ofAddress(freed, 4096, 0)))).getMessage()).contains("is not live device memory");
        final MemorySegment host = arena.allocate(4096, 4096);
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> agent.register(MemoryKind.VRAM,
            List.of(Region.ofAddress(host.address(), 4096, 0)))).getMessage()).contains("is not live device memory");

        final Registration reg = agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(p, 1 << 20, 0)));
        final FerryException outside = expectError(ErrorCode.NOT_FOUND, () -> agent.createTransfer(TransferOp.WRITE,
            DescList.of(MemoryKind.VRAM, new MemoryDesc(p, 4096, 0)),
            DescList.of(MemoryKind.VRAM, new MemoryDesc(p + (1 << 20) - 100, 4096, 0)), agent.name(), null));
        assertThat(outside.getMessage()).contains("descriptor 0");
        reg.close();
    }
}
