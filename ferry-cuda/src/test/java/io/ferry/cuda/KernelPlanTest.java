package io.ferry.cuda;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The copy kernel's decisions and table layout, without a GPU: when a device's spans go by the kernel, and how
 * spans become items (cut at 64 KiB, source and destination cut at the same offset, every byte covered once).
 */
@Timeout(30)
class KernelPlanTest
{
    @Test
    void autoTakesTheKernelForManySmallSpansOnly()
    {
        final KernelRule rule = KernelRule.of(Map.of());
        assertThat(rule.mode()).isEqualTo(KernelRule.Mode.AUTO);
        assertThat(rule.useKernel(32_768, 32_768L * 32_768)).isTrue();
        assertThat(rule.useKernel((int)KernelRule.DEFAULT_MIN_SPANS - 1, 4096)).isFalse();
        assertThat(rule.useKernel(64, 64 * (KernelRule.DEFAULT_MAX_MEAN_BYTES + 1))).isFalse();
        assertThat(rule.useKernel(64, 64 * KernelRule.DEFAULT_MAX_MEAN_BYTES)).isTrue();
        assertThat(rule.useKernel(0, 0)).isFalse();
    }

    @Test
    void alwaysAndNeverOverrideTheCounts()
    {
        final KernelRule always = KernelRule.of(Map.of("copy_kernel", "Always"));
        assertThat(always.useKernel(1, 64L << 20)).isTrue();
        assertThat(always.useKernel(0, 0)).isFalse();
        final KernelRule never = KernelRule.of(Map.of("copy_kernel", "never"));
        assertThat(never.useKernel(100_000, 100_000L * 4096)).isFalse();
        final KernelRule tuned = KernelRule.of(Map.of("kernel_min_spans", "2", "kernel_max_mean_bytes", "4096"));
        assertThat(tuned.useKernel(2, 8192)).isTrue();
        assertThat(tuned.useKernel(2, 8194)).isFalse();
        assertThat(tuned.toString()).contains("kernel_min_spans=2", "kernel_max_mean_bytes=4096");
    }

    @Test
    void badParametersAreNamed()
    {
        assertThatThrownBy(() -> KernelRule.of(Map.of("copy_kernel", "sometimes")))
            .isInstanceOf(FerryException.class).hasMessageContaining("copy_kernel=sometimes")
            .extracting(e -> ((FerryException)e).code()).isEqualTo(ErrorCode.INVALID_PARAM);
        assertThatThrownBy(() -> KernelRule.of(Map.of("kernel_min_spans", "0")))
            .isInstanceOf(FerryException.class).hasMessageContaining("kernel_min_spans=0");
        assertThatThrownBy(() -> KernelRule.of(Map.of("kernel_max_mean_bytes", "lots")))
            .isInstanceOf(FerryException.class).hasMessageContaining("kernel_max_mean_bytes=lots");
    }

    @Test
    void spansAreCutIntoItemsThatCoverEveryByteOnce()
    {
        final Random random = new Random(23);
        final int n = 500;
        final long[] src = new long[n];
        final long[] dst = new long[n];
        final long[] len = new long[n];
        final boolean[] select = new boolean[n];
        long expectedItems = 0;
        long expectedBytes = 0;
        for (int i = 0; i < n; i++)
        {
            src[i] = 0x7f00_0000_0000L + random.nextInt(1 << 30);
            dst[i] = 0x7e00_0000_0000L + random.nextInt(1 << 30);
            len[i] = switch (i % 5)
            {
                case 0 -> 1 + random.nextInt(100);
                case 1 -> CopyTable.ITEM_BYTES;
                case 2 -> CopyTable.ITEM_BYTES + 1;
                case 3 -> 1 + random.nextInt(1 << 22);
                default -> 0;
            };
            select[i] = 0 != i % 7;
            if (select[i])
            {
                expectedItems += CopyTable.itemsOf(len[i]);
                expectedBytes += len[i];
            }
        }
        final CopyTable t = CopyTable.of(3, src, dst, len, select);
        assertThat(t.device).isEqualTo(3);
        assertThat(t.items).isEqualTo((int)expectedItems);
        assertThat(t.bytes).isEqualTo(expectedBytes);
        int k = 0;
        for (int i = 0; i < n; i++)
        {
            if (!select[i])
            {
                continue;
            }
            long covered = 0;
            while (covered < len[i])
            {
                assertThat(t.src(k) - src[i]).isEqualTo(covered);
                assertThat(t.dst(k) - dst[i]).isEqualTo(covered);
                assertThat(t.length(k)).isBetween(1L, CopyTable.ITEM_BYTES);
                assertThat((t.src(k) ^ t.dst(k)) & 15).isEqualTo((src[i] ^ dst[i]) & 15);
                covered += t.length(k);
                k++;
            }
            assertThat(covered).isEqualTo(len[i]);
        }
        assertThat(k).isEqualTo(t.items);
    }

    @Test
    void tableBuffersComeInPowerOfTwoClasses()
    {
        assertThat(CopyKernel.sizeClass(1)).isEqualTo(4096);
        assertThat(CopyKernel.sizeClass(4096)).isEqualTo(4096);
        assertThat(CopyKernel.sizeClass(4097)).isEqualTo(8192);
        assertThat(CopyKernel.sizeClass(32_768L * CopyTable.ITEM)).isEqualTo(1L << 20);
        assertThat(CopyKernel.sizeClass((1L << 20) + 1)).isEqualTo(2L << 20);
    }

    @Test
    void stickyResultsAreTheDeviceFaults()
    {
        assertThat(CudaBackend.isSticky(700)).isTrue();  // CUDA_ERROR_ILLEGAL_ADDRESS
        assertThat(CudaBackend.isSticky(719)).isTrue();  // CUDA_ERROR_LAUNCH_FAILED
        assertThat(CudaBackend.isSticky(701)).isFalse(); // CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: the launch only
        assertThat(CudaBackend.isSticky(2)).isFalse();   // CUDA_ERROR_OUT_OF_MEMORY
    }
}
