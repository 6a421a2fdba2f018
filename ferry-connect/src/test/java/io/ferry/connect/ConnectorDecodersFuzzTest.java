package io.ferry.connect;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ferry.FerryException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of the connector's decoders of peer bytes: transfer metadata JSON, the block
 * pool handshake and control messages. Under {@code ./build test} each replays its corpus; {@code bench/fuzz/run}
 * fuzzes. A finding is anything but the documented refusal (INVALID_PARAM, or null for a payload that is not a
 * control message).
 */
class ConnectorDecodersFuzzTest
{
    /** The bytes as UTF-8 text; its seeds are valid transfer metadata, so that mutations start from JSON. */
    @FuzzTest(maxDuration = "30m")
    void transferMetadataJson(final byte[] bytes)
    {
        final String json = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        try
        {
            final TransferMetadata md = TransferMetadata.fromJson(json);
            assertThat(TransferMetadata.fromJson(md.toJson()).toJson()).isEqualTo(md.toJson());
        }
        catch (final FerryException expected)
        {
            // INVALID_PARAM naming what is wrong
        }
    }

    @FuzzTest(maxDuration = "30m")
    void poolHandshake(final byte[] bytes)
    {
        try
        {
            final PoolHandshake h = PoolHandshake.decode(bytes);
            assertThat(PoolHandshake.decode(h.encode()).encode()).isEqualTo(h.encode());
        }
        catch (final FerryException expected)
        {
            // INVALID_PARAM naming what is wrong
        }
    }

    /** The body with a valid CRC32C after it, so that the fuzzer explores the parser behind the checksum. */
    @FuzzTest(maxDuration = "30m")
    void poolHandshakeBody(final byte[] body)
    {
        final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(body);
        poolHandshake(java.nio.ByteBuffer.allocate(body.length + 4).put(body).putInt((int)crc.getValue()).array());
    }

    @FuzzTest(maxDuration = "30m")
    void controlMessage(final byte[] payload)
    {
        final ControlMessage m = ControlMessage.decode(payload);
        if (null != m)
        {
            assertThat(m.key).isNotNull();
        }
    }
}
