package io.ferry;

import io.ferry.metadata.AgentMetadata;
import io.ferry.metadata.MetadataCodec;
import io.ferry.metadata.RegionRecord;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Property tests: the metadata codec and descriptor lists round-trip, and hostile bytes only ever give MISMATCH.
 */
class MetadataCodecPropertiesTest
{
    private static final List<String> BACKENDS = List.of("LOCAL", "TCP", "SHM", "CUDA");

    @Provide
    Arbitrary<AgentMetadata> metadata()
    {
        final Arbitrary<String> names = Arbitraries.strings().ofMinLength(1).ofMaxLength(40)
            .filter(s -> s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 0xFFFF &&
                s.codePoints().noneMatch(c -> Character.isSurrogate((char)c)));
        final Arbitrary<Map<String, byte[]>> conns = Arbitraries.subsetOf(BACKENDS).flatMap(set ->
        {
            final List<String> ordered = set.stream().sorted().toList();
            return Arbitraries.bytes().array(byte[].class).ofMaxSize(64).list().ofSize(ordered.size())
                .map(infos ->
                {
                    final Map<String, byte[]> m = new LinkedHashMap<>();
                    for (int i = 0; i < ordered.size(); i++)
                    {
                        m.put(ordered.get(i), infos.get(i));
                    }
                    return m;
                });
        });
        final Arbitrary<RegionRecord> region = Combinators.combine(
            Arbitraries.of(BACKENDS), Arbitraries.of(MemoryKind.class),
            Arbitraries.longs().greaterOrEqual(0), Arbitraries.longs().greaterOrEqual(0),
            Arbitraries.longs(), Arbitraries.longs(),
            Arbitraries.bytes().array(byte[].class).ofMaxSize(16),
            Arbitraries.bytes().array(byte[].class).ofMaxSize(32))
            .as(RegionRecord::new);
        return Combinators.combine(names, conns, region.list().ofMaxSize(20)).as(AgentMetadata::new);
    }

    @Property(tries = 300)
    void metadataRoundTrips(@ForAll("metadata") final AgentMetadata md)
    {
        assertThat(MetadataCodec.decode(MetadataCodec.encode(md))).isEqualTo(md);
    }

    @Property(tries = 300)
    void descListRoundTrips(
        @ForAll final MemoryKind kind,
        @ForAll @Size(max = 50) final List<@IntRange(min = 0) Integer> values)
    {
        final DescList.Builder b = DescList.builder(kind);
        for (final int v : values)
        {
            b.add((long)v << 12, v, v % 3);
        }
        final DescList list = b.build();
        assertThat(DescList.deserialize(list.serialize())).isEqualTo(list);
    }

    @Property(tries = 2000)
    void randomBytesAreMismatchNeverAnotherFailure(@ForAll @Size(max = 300) final byte[] bytes)
    {
        expectOnlyMismatch(bytes);
    }

    @Property(tries = 2000)
    void mutatedBlobsWithValidChecksumAreDecodedOrMismatch(
        @ForAll("metadata") final AgentMetadata md,
        @ForAll @IntRange(min = 0, max = 10_000) final int position,
        @ForAll final byte value,
        @ForAll @IntRange(min = 0, max = 64) final int cut)
    {
        final byte[] blob = MetadataCodec.encode(md);
        final int at = MetadataCodec.HEADER_LENGTH + position % Math.max(1, blob.length - MetadataCodec.HEADER_LENGTH);
        if (at < blob.length)
        {
            blob[at] = value;
        }
        final byte[] truncated = java.util.Arrays.copyOf(blob, Math.max(MetadataCodec.HEADER_LENGTH,
            blob.length - cut));
        expectOnlyMismatch(reseal(blob));
        expectOnlyMismatch(reseal(truncated));
    }

    @Property(tries = 200)
    void randomBytesNeverCrashLoadRemoteMetadata(@ForAll @Size(max = 200) final byte[] bytes)
    {
        try (Agent agent = Fixtures.localAgent("fuzz"))
        {
            final Throwable t = catchThrowable(() -> agent.loadRemoteMetadata(bytes));
            assertThat(t).isInstanceOf(FerryException.class);
            assertThat(((FerryException)t).code()).isEqualTo(ErrorCode.MISMATCH);
            assertThat(agent.peers()).isEmpty();
        }
    }

    private static void expectOnlyMismatch(final byte[] bytes)
    {
        final Throwable t = catchThrowable(() -> MetadataCodec.decode(bytes));
        if (null != t)
        {
            assertThat(t).isInstanceOf(FerryException.class);
            assertThat(((FerryException)t).code()).isEqualTo(ErrorCode.MISMATCH);
        }
    }

    /** Fixes length and checksum so that the body parser, not the checksum, meets the damage. */
    static byte[] reseal(final byte[] blob)
    {
        final ByteBuffer buf = ByteBuffer.wrap(blob);
        final int body = blob.length - MetadataCodec.HEADER_LENGTH;
        final CRC32C crc = new CRC32C();
        crc.update(blob, MetadataCodec.HEADER_LENGTH, body);
        buf.putInt(8, body).putInt(12, (int)crc.getValue());
        return blob;
    }
}
