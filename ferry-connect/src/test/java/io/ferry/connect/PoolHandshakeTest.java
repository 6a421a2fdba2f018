package io.ferry.connect;

import io.ferry.ErrorCode;
import org.junit.jupiter.api.Test;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

class PoolHandshakeTest
{
    private static final BlockLayout LAYOUT = new BlockLayout("llama-3.1-70b/bf16/NHD/tp1", 160, 625, 32768);

    private static PoolHandshake sample()
    {
        final long[] bases = new long[160];
        for (int i = 0; i < bases.length; i++)
        {
            bases[i] = 0x7f0000000000L + i * LAYOUT.regionBytes();
        }
        return new PoolHandshake("prefill-0", new byte[] {1, 2, 3}, LAYOUT, bases, LAYOUT.compatibilityHash());
    }

    @Test
    void roundTripsAndChecksCompatibility()
    {
        final PoolHandshake back = PoolHandshake.decode(sample().encode());
        assertThat(back.agent()).isEqualTo("prefill-0");
        assertThat(back.layout()).isEqualTo(LAYOUT);
        assertThat(back.bases()).containsExactly(sample().bases());
        assertThat(back.agentMetadata()).containsExactly(1, 2, 3);
        back.checkCompatibleWith(new BlockLayout(LAYOUT.tag(), 160, 1000, 32768)); // block counts may differ
    }

    @Test
    void everyMismatchedFieldIsNamed()
    {
        final String why = expectError(ErrorCode.MISMATCH, () -> sample().checkCompatibleWith(
            new BlockLayout("llama-3.1-70b/fp8/NHD/tp1", 80, 625, 16384))).getMessage();
        assertThat(why).contains("peer prefill-0's block pool does not match ours")
            .contains("tag 'llama-3.1-70b/bf16/NHD/tp1' vs ours 'llama-3.1-70b/fp8/NHD/tp1'")
            .contains("160 regions vs our 80").contains("block size 32768 B vs our 16384 B");
        final PoolHandshake forged = new PoolHandshake("x", new byte[0], LAYOUT, sample().bases(), 42);
        assertThat(expectError(ErrorCode.MISMATCH, () -> forged.checkCompatibleWith(LAYOUT)).getMessage())
            .contains("compatibility hash 2a");
    }

    @Test
    void corruptOrTruncatedHandshakesAreRefused()
    {
        final byte[] good = sample().encode();
        for (int i = 0; i < good.length; i += 97)
        {
            final byte[] bad = good.clone();
            bad[i] ^= 0x10;
            expectError(ErrorCode.INVALID_PARAM, () -> PoolHandshake.decode(bad));
        }
        for (final int n : new int[] {0, 10, 43, 44, 200, good.length - 1})
        {
            expectError(ErrorCode.INVALID_PARAM, () -> PoolHandshake.decode(java.util.Arrays.copyOf(good, n)));
        }
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> PoolHandshake.decode(new byte[64])).getMessage())
            .contains("bad magic");
    }

    @Test
    void layoutsValidate()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> new BlockLayout("", 1, 1, 1));
        expectError(ErrorCode.INVALID_PARAM, () -> new BlockLayout("x", 0, 1, 1));
        expectError(ErrorCode.INVALID_PARAM, () -> new BlockLayout("x", 1, 1, 0));
        expectError(ErrorCode.INVALID_PARAM, () -> new BlockLayout("x", 1 << 16, 1 << 16, 1));
        assertThat(LAYOUT.compatibilityHash()).isEqualTo(new BlockLayout(LAYOUT.tag(), 160, 7, 32768)
            .compatibilityHash());
    }
}
