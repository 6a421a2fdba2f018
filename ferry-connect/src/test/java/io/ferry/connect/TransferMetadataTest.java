package io.ferry.connect;

import io.ferry.ErrorCode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

class TransferMetadataTest
{
    private static TransferMetadata sample()
    {
        final byte[] md = new byte[5000];
        new Random(1).nextBytes(md);
        return new TransferMetadata(TransferMetadata.Kind.WRITABLE, "decode-0", "decode-0/ab/1",
            List.of(Descriptor.of(0x7f0000001000L, 4096, Device.HOST), Descriptor.of(0x7f0000100000L, 1, Device.HOST)),
            md);
    }

    @Test
    void jsonRoundTrips()
    {
        final TransferMetadata m = sample();
        final String json = m.toJson();
        assertThat(json).contains("\"version\":1").contains("\"kind\":\"WRITABLE\"").contains("\"memory\":\"DRAM\"");
        final TransferMetadata back = TransferMetadata.fromJson(json);
        assertThat(back).isEqualTo(m);
        assertThat(back.totalBytes()).isEqualTo(4097);
        assertThat(back.toString()).contains("WRITABLE of decode-0");
    }

    @Test
    void badJsonGetsAnErrorNamingTheProblem()
    {
        final String good = sample().toJson();
        check("not json", "is not JSON");
        check("[1]", "must be a JSON object");
        check(good.replace("\"version\":1", "\"version\":2"), "version 2 is not supported");
        check(good.replace("\"kind\":\"WRITABLE\"", "\"kind\":\"BOTH\""), "kind 'BOTH'");
        check(good.replace("\"agent\":\"decode-0\",", ""), "has no 'agent'");
        check(good.replace("\"size\":4096", "\"size\":0"), "descriptor 0 needs");
        check(good.replace("\"device\":\"host\"", "\"device\":\"tpu:1\""), "device 'tpu:1'");
        check(good.replaceFirst("\"agentMetadata\":\"[^\"]*\"", "\"agentMetadata\":\"***\""), "not base64");
        check(good.replaceFirst("\"agentMetadata\":\"[^\"]*\"", "\"agentMetadata\":\"AAAA\""), "agentMetadata");
        check(good.replaceFirst("\"descriptors\":\\[[^]]*]", "\"descriptors\":[]"), "'descriptors' must be");
    }

    private static void check(final String json, final String expected)
    {
        assertThat(expectError(ErrorCode.INVALID_PARAM, () -> TransferMetadata.fromJson(json)).getMessage())
            .contains(expected);
    }

    @Test
    void devicesAndDescriptorsValidate()
    {
        assertThat(Device.cuda(3).toString()).isEqualTo("cuda:3");
        assertThat(Device.cuda(0).memoryKind()).isEqualTo(io.ferry.MemoryKind.VRAM);
        expectError(ErrorCode.INVALID_PARAM, () -> new Device(Device.Kind.HOST, 1));
        expectError(ErrorCode.INVALID_PARAM, () -> Device.cuda(-1));
        expectError(ErrorCode.INVALID_PARAM, () -> Descriptor.of(0, 10, Device.HOST));
        expectError(ErrorCode.INVALID_PARAM, () -> Descriptor.of(64, 0, Device.HOST));
        expectError(ErrorCode.INVALID_PARAM, () -> Descriptor.of(java.lang.foreign.MemorySegment.ofArray(new byte[4])));
    }
}
