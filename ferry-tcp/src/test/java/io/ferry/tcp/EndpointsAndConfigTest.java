package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Connection info encoding and parameter validation.
 */
@Timeout(10)
class EndpointsAndConfigTest
{
    @Test
    void connectionInfoRoundTripsAndKeepsLoopbackForTheSameHostOnly()
    {
        final List<InetSocketAddress> addrs = List.of(new InetSocketAddress("10.1.2.3", 7000),
            new InetSocketAddress("127.0.0.1", 7000));
        final Endpoints.Info info = Endpoints.decode("p", Endpoints.encode(addrs));
        assertThat(info.addresses()).isEqualTo(addrs);
        assertThat(info.usable()).isEqualTo(addrs);
        final Endpoints.Info other = new Endpoints.Info("another-host", addrs);
        assertThat(other.usable()).containsExactly(addrs.getFirst());
    }

    @Test
    void malformedConnectionInfoIsMismatch()
    {
        for (final String bad : List.of("", "ferry-tcp/1 ", "ferry-tcp/1 h 1.2.3.4", "ferry-tcp/1 h host.name:80",
            "ferry-tcp/1 h 1.2.3.4:0", "ferry-tcp/1 h 1.2.3.4:99999", "other/1 h 1.2.3.4:80"))
        {
            final FerryException ex = catchThrowableOfType(FerryException.class,
                () -> Endpoints.decode("peer-x", bad.getBytes(StandardCharsets.US_ASCII)));
            assertThat(ex).as(bad).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.MISMATCH);
            assertThat(ex.getMessage()).contains("peer-x");
        }
    }

    @Test
    void parametersAreValidatedWithTheirNames()
    {
        assertThat(TcpConfig.parse(TcpConfig.defaults()).paths()).isEqualTo(4);
        for (final Map.Entry<String, String> bad : List.of(Map.entry("paths", "0"), Map.entry("chunk_size", "x"),
            Map.entry("congestion_control", "cubic"), Map.entry("crc32c", "maybe"),
            Map.entry("window_max", "1024"), Map.entry("swift_beta", "2"),
            Map.entry("kernel_congestion_control", "cubic; rm -rf"),
            Map.entry("local_addresses", "no.such.host.invalid"), Map.entry("spread_chunk_min", "100"),
            Map.entry("tail_chunk_size", "100")))
        {
            final FerryException ex = catchThrowableOfType(FerryException.class,
                () -> with(bad.getKey(), bad.getValue()));
            assertThat(ex).as(bad.toString()).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.INVALID_PARAM);
            assertThat(ex.getMessage()).contains(bad.getKey());
        }
    }

    @Test
    void aSmallRequestIsCutSoThatItSpreadsOverSeveralPaths()
    {
        final TcpConfig d = TcpConfig.parse(TcpConfig.defaults()); // 4 paths, 1 MiB chunks, 4 MiB VRAM, 512 KiB floor
        assertThat(d.spreadChunkMin()).isEqualTo(512 * 1024);
        assertThat(d.chunkSizeFor(64, false)).isEqualTo(512 * 1024);          // one chunk all the same
        assertThat(d.chunkSizeFor(1 << 20, false)).isEqualTo(512 * 1024);     // two paths, not one
        assertThat(d.chunkSizeFor(3L << 20, false)).isEqualTo(768 * 1024);    // an even share of four paths
        assertThat(d.chunkSizeFor(3L * (1 << 20) + 1, false)).isEqualTo(772 * 1024); // whole pages
        assertThat(d.chunkSizeFor(4L << 20, false)).isEqualTo(1 << 20);       // enough for every path already
        assertThat(d.chunkSizeFor(1L << 30, false)).isEqualTo(1 << 20);
        assertThat(d.chunkSizeFor(8L << 20, true)).isEqualTo(2 << 20);        // VRAM: a share of 4 MiB chunks
        assertThat(d.chunkSizeFor(64L << 20, true)).isEqualTo(4 << 20);

        assertThat(with("spread_chunk_min", "1048576").chunkSizeFor(1 << 20, false)).isEqualTo(1 << 20);
        assertThat(with("paths", "1").chunkSizeFor(1 << 20, false)).isEqualTo(1 << 20);
    }

    @Test
    void aLargeRequestsLastChunksAreSmallerSoThatItsPathsFinishTogether()
    {
        final TcpConfig d = TcpConfig.parse(TcpConfig.defaults()); // 4 paths, 1 MiB chunks, 256 KiB tail chunks
        assertThat(d.tailChunkSize()).isEqualTo(256 * 1024);
        final int mib = 1 << 20;
        assertThat(d.tailChunkFor(mib, false)).isEqualTo(256 * 1024);
        assertThat(d.tailChunkFor(4 * mib, true)).as("VRAM: a quarter of its chunk at least").isEqualTo(mib);
        assertThat(d.tailChunkFor(128 * 1024, false)).as("never above the chunk").isEqualTo(128 * 1024);
        assertThat(d.tailBytesFor(64L * mib, mib, 256 * 1024)).as("paths x chunk").isEqualTo(4L * mib);
        assertThat(d.tailBytesFor(8L * mib, mib, 256 * 1024)).isEqualTo(4L * mib);
        assertThat(d.tailBytesFor(8L * mib - 1, mib, 256 * 1024)).as("under twice the tail: none").isZero();
        assertThat(d.tailBytesFor(64L * mib, mib, mib)).as("tail chunks no smaller: none").isZero();

        final TcpConfig off = with("tail_chunk_size", "1048576");
        assertThat(off.tailBytesFor(64L * mib, mib, off.tailChunkFor(mib, false))).isZero();
        assertThat(with("paths", "1").tailBytesFor(64L * mib, mib, 256 * 1024)).isZero();
    }

    /** @return the defaults with one parameter changed, parsed. */
    private static TcpConfig with(final String key, final String value)
    {
        final Map<String, String> p = new HashMap<>(TcpConfig.defaults());
        p.put(key, value);
        return TcpConfig.parse(p);
    }

    @Test
    void kernelCongestionControlSaysWhyItCannotBeApplied() throws Exception
    {
        assertThat(TcpConfig.parse(TcpConfig.defaults()).kernelCongestionControl()).isEmpty();
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open())
        {
            final String why = KernelCongestionControl.apply(ch, "cubic");
            // the test JVM runs without --add-exports java.base/sun.nio.ch, as most applications do
            assertThat(why).isNotNull().contains("add-exports java.base/sun.nio.ch");
        }
    }

    @Test
    void regionTableFindsByKey()
    {
        RegionTable t = RegionTable.empty();
        final java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.global().allocate(64);
        final TcpRegion[] rs = new TcpRegion[100];
        for (int i = 0; i < rs.length; i++)
        {
            rs[i] = new TcpRegion(i * 0x1234567L - 50, seg.address(), 64, seg);
            t = t.with(rs[i]);
        }
        for (final TcpRegion r : rs)
        {
            assertThat(t.get(r.key)).isSameAs(r);
        }
        t = t.without(rs[7]);
        assertThat(t.get(rs[7].key)).isNull();
        assertThat(t.size()).isEqualTo(99);
        assertThat(t.get(42)).isNull();
    }
}
