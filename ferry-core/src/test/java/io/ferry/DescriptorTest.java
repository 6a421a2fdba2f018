package io.ferry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test items 11, 12 and 26: descriptor algebra, serialization, whole-object normalisation, malformed input.
 */
@Timeout(30)
class DescriptorTest
{
    @Test
    void coversAndOverlapsFollowNixl()
    {
        final MemoryDesc outer = new MemoryDesc(1000, 100, 0);
        assertThat(outer.covers(new MemoryDesc(1000, 100, 0))).isTrue();
        assertThat(outer.covers(new MemoryDesc(1050, 50, 0))).isTrue();
        assertThat(outer.covers(new MemoryDesc(1050, 51, 0))).isFalse();
        assertThat(outer.covers(new MemoryDesc(999, 10, 0))).isFalse();
        assertThat(outer.covers(new MemoryDesc(1000, 10, 1))).as("other device").isFalse();
        assertThat(outer.covers(new MemoryDesc(1100, 0, 0))).as("empty at the end").isTrue();

        assertThat(outer.overlaps(new MemoryDesc(1099, 10, 0))).isTrue();
        assertThat(outer.overlaps(new MemoryDesc(1100, 10, 0))).isFalse();
        assertThat(outer.overlaps(new MemoryDesc(990, 11, 0))).isTrue();
        assertThat(outer.overlaps(new MemoryDesc(990, 10, 0))).isFalse();
        assertThat(outer.overlaps(new MemoryDesc(1010, 10, 7))).isFalse();
    }

    @Test
    void equalityAndOrderingByDeviceAddressLength()
    {
        final MemoryDesc a = new MemoryDesc(10, 5, 0);
        assertThat(a).isEqualTo(new MemoryDesc(10, 5, 0)).isNotEqualTo(new MemoryDesc(10, 5, 1));
        assertThat(List.of(new MemoryDesc(5, 1, 1), new MemoryDesc(9, 1, 0), new MemoryDesc(9, 0, 0)).stream()
            .sorted().toList()).containsExactly(new MemoryDesc(9, 0, 0), new MemoryDesc(9, 1, 0),
            new MemoryDesc(5, 1, 1));
    }

    @Test
    void wholeObjectLengthNeverOverflows()
    {
        final MemoryDesc whole = new MemoryDesc(4096, MemoryDesc.WHOLE, 3);
        assertThat(whole.covers(new MemoryDesc(Long.MAX_VALUE - 10, 10, 3))).isTrue();
        assertThat(whole.end()).isEqualTo(Long.MAX_VALUE);
        assertThat(whole.overlaps(new MemoryDesc(1L << 62, 1, 3))).isTrue();
    }

    @Test
    void zeroLengthStorageRegistrationsMeanWholeObjectButDramDoesNot()
    {
        final Region r = Region.ofAddress(0, 0, 7);
        assertThat(r.normalizedDesc(MemoryKind.FILE).length()).isEqualTo(MemoryDesc.WHOLE);
        assertThat(r.normalizedDesc(MemoryKind.BLOCK).length()).isEqualTo(MemoryDesc.WHOLE);
        assertThat(r.normalizedDesc(MemoryKind.OBJECT).length()).isEqualTo(MemoryDesc.WHOLE);
        assertThat(r.normalizedDesc(MemoryKind.DRAM).length()).isZero();
        assertThat(r.normalizedDesc(MemoryKind.VRAM).length()).isZero();
    }

    @Test
    void serializeRoundTripAndIndexOf()
    {
        final DescList list = DescList.builder(MemoryKind.VRAM, 2).add(4096, 100, 1).add(8192, 200, 2).build();
        final DescList back = DescList.deserialize(list.serialize());
        assertThat(back).isEqualTo(list);
        assertThat(back.kind()).isEqualTo(MemoryKind.VRAM);
        assertThat(back.totalBytes()).isEqualTo(300);
        assertThat(back.indexOf(new MemoryDesc(8192, 200, 2))).isEqualTo(1);
        assertThat(back.indexOf(new MemoryDesc(8192, 200, 3))).isEqualTo(-1);
        assertThat(DescList.deserialize(DescList.empty(MemoryKind.FILE).serialize()).isEmpty()).isTrue();
    }

    @Test
    void malformedDescriptorInputIsRefused()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> new MemoryDesc(-1, 10, 0));
        expectError(ErrorCode.INVALID_PARAM, () -> new MemoryDesc(0, -10, 0));
        final FerryException ex = expectError(ErrorCode.INVALID_PARAM,
            () -> DescList.builder(MemoryKind.DRAM).add(1, 1).add(2, -1));
        assertThat(ex.getMessage()).contains("descriptor 1");
        expectError(ErrorCode.INVALID_PARAM,
            () -> DescList.builder(MemoryKind.DRAM).add(MemorySegment.ofArray(new long[4])));
        expectError(ErrorCode.MISMATCH, () -> DescList.deserialize(new byte[3]));
        expectError(ErrorCode.MISMATCH, () -> DescList.deserialize(new byte[40]));
        final byte[] good = DescList.builder(MemoryKind.DRAM).add(1, 2).build().serialize();
        good[good.length - 1] ^= 1;
        DescList.deserialize(good);
        final byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
        expectError(ErrorCode.MISMATCH, () -> DescList.deserialize(truncated));
    }

    @Test
    void dramListsFromSegmentSlices()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment seg = arena.allocate(8192, 64);
            final DescList list = DescList.dram(seg.asSlice(0, 4096), seg.asSlice(4096, 4096));
            assertThat(list.size()).isEqualTo(2);
            assertThat(list.address(1)).isEqualTo(seg.address() + 4096);
            assertThat(list.toString()).contains("DRAM").contains("2 descs");
        }
    }
}
