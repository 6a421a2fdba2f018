package io.ferry.cuda;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.FerryException;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A child JVM for {@link CudaKernelTest}: a device fault poisons the process's CUDA context, so it happens here.
 * Registers two VRAM buffers, posts a 16-span kernel WRITE once (its table now lives on the device), frees the
 * destination behind the agent's back, posts again: the kernel writes to an address no mapping backs. Prints
 * {@code FIRST ok}, {@code FAILED <message>}, {@code REFUSED <message>} (the next post), {@code LIMITATIONS <text>},
 * then {@code CLOSED} once the agent closed.
 */
public final class KernelFaultMain
{
    private KernelFaultMain()
    {
    }

    /**
     * @param args none.
     */
    public static void main(final String[] args)
    {
        Gpu.require();
        final long size = 64L << 20;
        final long a = Gpu.alloc(0, size);
        final long b = Gpu.alloc(0, size);
        try (Agent agent = Agent.create(AgentConfig.builder("kernel-fault").backend("CUDA",
            Map.of("copy_kernel", "always")).build()))
        {
            agent.register(MemoryKind.VRAM, List.of(Region.ofAddress(a, size, 0), Region.ofAddress(b, size, 0)));
            final DescList.Builder from = DescList.builder(MemoryKind.VRAM, 16);
            final DescList.Builder to = DescList.builder(MemoryKind.VRAM, 16);
            for (int i = 0; i < 16; i++)
            {
                from.add(a + i * (size / 16), 1 << 20, 0);
                to.add(b + (15 - i) * (size / 16), 1 << 20, 0);
            }
            final Transfer t = agent.createTransfer(TransferOp.WRITE, from.build(), to.build(), agent.name(),
                TransferOptions.NONE);
            t.post();
            t.await(Duration.ofSeconds(30));
            System.out.println("FIRST ok " + t.telemetry().route());
            Gpu.free(0, b);
            try
            {
                t.post();
                t.await(Duration.ofSeconds(30));
                System.out.println("FAILED nothing failed");
            }
            catch (final FerryException ex)
            {
                System.out.println("FAILED " + ex.getMessage().replace('\n', ' '));
            }
            try
            {
                t.post();
                t.await(Duration.ofSeconds(30));
                System.out.println("REFUSED nothing refused");
            }
            catch (final FerryException ex)
            {
                System.out.println("REFUSED " + ex.getMessage().replace('\n', ' '));
            }
            System.out.println("LIMITATIONS " + Agent.backendInfo("CUDA").limitations());
        }
        catch (final RuntimeException ex)
        {
            System.out.println("ERROR " + ex);
        }
        System.out.println("CLOSED");
        System.out.flush();
        Runtime.getRuntime().halt(0); // the poisoned context may refuse a clean teardown; nothing is left to do
    }
}
