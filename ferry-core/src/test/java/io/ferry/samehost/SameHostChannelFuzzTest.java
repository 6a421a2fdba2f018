package io.ferry.samehost;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.ferry.internal.Posix;
import io.ferry.internal.SystemCallException;
import org.junit.jupiter.api.AfterAll;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of what a same-host channel reads from a stranger: each input goes to a real
 * channel over a real Unix socket, after a valid handshake when its first byte is odd (the channel has no secret, so
 * the fuzzer reaches NOTIFY, FAILURE and MAP). A finding is a connection that ended on anything but a protocol
 * violation, or a channel that stopped serving. Seeds and findings:
 * {@code src/test/resources/io/ferry/samehost/SameHostChannelFuzzTestInputs/}; {@code bench/fuzz/run} fuzzes it.
 */
class SameHostChannelFuzzTest
{
    private static final Recorder RECORDER = new Recorder();
    private static final SameHostChannel CHANNEL = new SameHostChannel("fuzz-target", null, RECORDER, 1_000, 256,
        "fuzz");
    private static final byte[] HANDSHAKE = handshake();

    /** Counts what arrives; grants nothing. */
    private static final class Recorder implements SameHostChannel.Listener
    {
        public void notification(final String sender, final byte[] payload)
        {
        }

        public void failureNotification(final String sender, final byte[] payload, final String reason)
        {
        }

        public void initiatorLost(final String sender, final String reason)
        {
        }

        public void targetLost(final String peer, final String reason)
        {
        }
    }

    private static byte[] handshake()
    {
        final byte[] name = "fuzzer".getBytes(StandardCharsets.UTF_8);
        final ByteBuffer b = ByteBuffer.allocate(16 + 32 + 2 + name.length + 16 + 32);
        b.put((byte)1).put((byte)1).putShort((short)0).putInt(32 + 2 + name.length).putLong(0);
        b.put(new byte[32]).putShort((short)name.length).put(name);
        b.put((byte)3).put((byte)1).putShort((short)0).putInt(32).putLong(0).put(new byte[32]); // AUTH, no secret
        return b.array();
    }

    @FuzzTest(maxDuration = "30m")
    void inboundStream(final byte[] bytes)
    {
        final int raw = Posix.unixSocket();
        try
        {
            Posix.connect(raw, CHANNEL.address());
            if (bytes.length > 0 && 1 == (bytes[0] & 1))
            {
                Posix.sendAll(raw, HANDSHAKE, -1);
            }
            Posix.sendAll(raw, bytes.length > 0 ? Arrays.copyOfRange(bytes, 1, bytes.length) : bytes, -1);
        }
        catch (final SystemCallException closedOnUs)
        {
            // the channel closed the connection first: a refusal, as it should be
        }
        finally
        {
            Posix.close(raw);
        }
        assertThat(CHANNEL.unexpectedFailures()).as("connections that ended on a bug").isZero();
    }

    @AfterAll
    static void stillServing() throws Exception
    {
        Thread.sleep(200); // the last inputs' connections end
        assertThat(CHANNEL.unexpectedFailures()).isZero();
        try (SameHostChannel probe = new SameHostChannel("probe", null, RECORDER, 1_000, 4, "fuzz"))
        {
            probe.notify("fuzz-target", CHANNEL.address(), new byte[]{1}); // the handshake and a frame still work
        }
    }
}
