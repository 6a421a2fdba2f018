package io.ferry.ucx;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What the UCX backend reads from peers (connection info, region data, notification headers) and its parameters:
 * round trips, and hostile bytes refused with MISMATCH naming the peer before anything is allocated for them. No
 * UCX needed.
 */
class UcxWireTest
{
    @Test
    void connectionInfoAndRegionDataRoundTrip()
    {
        final byte[] address = new byte[300];
        new SplittableRandom(1).nextBytes(address);
        assertThat(UcxWire.workerAddress("p", UcxWire.connectionInfo(address))).isEqualTo(address);
        final byte[] rkey = new byte[77];
        new SplittableRandom(2).nextBytes(rkey);
        assertThat(UcxWire.rkey("p", 0x1000, UcxWire.publicData(rkey))).isEqualTo(rkey);
        assertThat(UcxWire.notificationSender(UcxWire.notificationHeader("prefill-0"))).isEqualTo("prefill-0");
    }

    @Test
    void hostileConnectionInfoIsMismatchNamingThePeer()
    {
        final byte[] good = UcxWire.connectionInfo(new byte[16]);
        final byte[] declaresHuge = good.clone();
        ByteBuffer.wrap(declaresHuge).order(ByteOrder.LITTLE_ENDIAN).putInt(8, Integer.MAX_VALUE);
        final byte[] wrongMagic = good.clone();
        wrongMagic[0] ^= 1;
        for (final byte[] bad : new byte[][] {null, new byte[3], declaresHuge, wrongMagic,
            java.util.Arrays.copyOf(good, good.length - 1), UcxWire.connectionInfo(new byte[0])})
        {
            final FerryException ex = catchThrowableOfType(FerryException.class,
                () -> UcxWire.workerAddress("stranger", bad));
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.MISMATCH);
            assertThat(ex.getMessage()).contains("stranger");
        }
    }

    @Test
    void hostileRegionDataIsMismatchNamingThePeerAndRegion()
    {
        final byte[] declaresHuge = UcxWire.publicData(new byte[8]);
        ByteBuffer.wrap(declaresHuge).order(ByteOrder.LITTLE_ENDIAN).putInt(0, -1);
        for (final byte[] bad : new byte[][] {null, new byte[2], declaresHuge, UcxWire.publicData(new byte[0]),
            UcxWire.publicData(new byte[UcxWire.MAX_RKEY_BYTES + 1])})
        {
            final FerryException ex = catchThrowableOfType(FerryException.class, () -> UcxWire.rkey("stranger",
                0xabc000, bad));
            assertThat(ex).isNotNull();
            assertThat(ex.code()).isEqualTo(ErrorCode.MISMATCH);
            assertThat(ex.getMessage()).contains("stranger").contains("abc000");
        }
    }

    @Test
    void notificationHeadersThatAreNotFerrysAreRecognised()
    {
        assertThat(UcxWire.notificationSender(new byte[] {1, 0})).isNull();
        assertThat(UcxWire.notificationSender(new byte[] {2, 0, 0})).isNull();
        assertThat(UcxWire.notificationSender(new byte[] {1, 0, 5, 'a'})).isNull();
        assertThat(UcxWire.notificationSender(new byte[] {1, 0, 1, 'a'})).isEqualTo("a");
        assertThatThrownBy(() -> UcxWire.notificationHeader("x".repeat(256))).isInstanceOf(FerryException.class)
            .hasMessageContaining("255");
    }

    @Test
    void parametersPassUcxSettingsThroughAndRefuseNonsense()
    {
        final Map<String, String> p = new java.util.HashMap<>(UcxConfig.defaults());
        p.put("UCX_TLS", "tcp");
        p.put("UCX_NET_DEVICES", " eth0 ");
        final UcxConfig c = UcxConfig.parse(p);
        assertThat(c.ucx()).containsEntry("TLS", "tcp").containsEntry("NET_DEVICES", "eth0").hasSize(2);
        assertThat(c.spin()).isFalse();
        p.put("progress", "busy");
        assertThatThrownBy(() -> UcxConfig.parse(p)).hasMessageContaining("progress=busy");
        p.put("progress", "spin");
        p.put("timeout_ms", "0");
        assertThatThrownBy(() -> UcxConfig.parse(p)).hasMessageContaining("timeout_ms");
    }

    @Test
    void sharedMemoryAloneCannotDetectAFailedPeer()
    {
        assertThat(UcxWorker.detectsPeerFailure(null)).isTrue();
        assertThat(UcxWorker.detectsPeerFailure("tcp")).isTrue();
        assertThat(UcxWorker.detectsPeerFailure("posix,tcp")).isTrue();
        assertThat(UcxWorker.detectsPeerFailure("rc,sm")).isTrue();
        assertThat(UcxWorker.detectsPeerFailure("^ud")).isTrue();
        assertThat(UcxWorker.detectsPeerFailure("posix,self")).isFalse();
        assertThat(UcxWorker.detectsPeerFailure("sm")).isFalse();
    }

    @Test
    void theHostSummaryNamesTransportsAndWarnsWithoutRdma()
    {
        final String info = "#     resource 0  :  md 0  dev 0  flags -- self/memory0\n" +
            "#     resource 1  :  md 1  dev 1  flags -- tcp/lo\n";
        assertThat(UcxTransports.describe("1.13.1", info)).startsWith("UCX 1.13.1; transports: self/memory0, tcp/lo")
            .contains("no RDMA transport");
        assertThat(UcxTransports.describe("1.16.0", info + "#     resource 2  :  md 2  dev 2  flags -- rc_mlx5/mlx5_0:1\n"))
            .contains("rc_mlx5/mlx5_0:1").doesNotContain("no RDMA");
    }
}
