package io.ferry.metadata;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ferry.FerryException;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of every decoder of the metadata plane that reads a peer's bytes. Under
 * {@code ./build test} each target replays its seed corpus and the crashes found so far
 * ({@code src/test/resources/io/ferry/metadata/MetadataDecodersFuzzTestInputs/}); {@code bench/fuzz/run} fuzzes
 * each for as long as it is told. A finding is anything but the documented refusal: a FerryException from the
 * codec, an IOException from a frame reader.
 */
class MetadataDecodersFuzzTest
{
    @FuzzTest(maxDuration = "30m")
    void metadataCodec(final byte[] blob)
    {
        try
        {
            final AgentMetadata md = MetadataCodec.decode(blob);
            // what decodes encodes again to something that decodes to the same agent
            assertThat(MetadataCodec.decode(MetadataCodec.encode(md)).name()).isEqualTo(md.name());
        }
        catch (final FerryException expected)
        {
            // MISMATCH: corrupt bytes are refused
        }
    }

    /** The body under a valid header and checksum, so that the fuzzer explores the parser behind the CRC. */
    @FuzzTest(maxDuration = "30m")
    void metadataBody(final byte[] body)
    {
        final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(body);
        final byte[] blob = java.nio.ByteBuffer.allocate(MetadataCodec.HEADER_LENGTH + body.length)
            .putInt(MetadataCodec.MAGIC).put(MetadataCodec.VERSION).put((byte)0).putShort((short)0)
            .putInt(body.length).putInt((int)crc.getValue()).put(body).array();
        metadataCodec(blob);
    }

    @FuzzTest(maxDuration = "30m")
    void exchangeFrames(final byte[] bytes)
    {
        final DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        try
        {
            final ExchangeFrames.Header h = ExchangeFrames.readHeader(in, 1 << 20);
            final byte[] body = ExchangeFrames.readBody(in, h.length());
            assertThat(body).hasSize(h.length());
            if (ExchangeFrames.ERROR == h.type())
            {
                assertThat(ExchangeFrames.parseError(body, "fuzz")).isNotNull();
            }
        }
        catch (final IOException expected)
        {
            // a malformed or truncated frame ends its connection
        }
    }

    @FuzzTest(maxDuration = "30m")
    void sealedRecords(final byte[] record)
    {
        for (final byte[] secret : new byte[][] {null, {1, 2, 3}})
        {
            try
            {
                final byte[] blob = RecordSeal.open(secret, record, "fuzz");
                if (null != secret)
                {
                    // only a record sealed with the secret opens: the fuzzer cannot forge an HMAC
                    assertThat(RecordSeal.seal(secret, blob)).isEqualTo(record);
                }
            }
            catch (final FerryException expected)
            {
                // NOT_ALLOWED
            }
        }
    }
}
