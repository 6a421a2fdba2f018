package io.ferry.cuda;

import io.ferry.ErrorCode;
import io.ferry.Notification;
import io.ferry.spi.BackendContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/** The same-host notification channel of the CUDA backend, over real Unix domain sockets (no GPU needed). */
@Timeout(30)
class NotifyChannelTest
{
    private static final class Recorder implements BackendContext
    {
        final String name;
        final LinkedBlockingQueue<Notification> got = new LinkedBlockingQueue<>();
        final List<String> lost = new CopyOnWriteArrayList<>();

        Recorder(final String name)
        {
            this.name = name;
        }

        public String agentName()
        {
            return name;
        }

        public Duration defaultTimeout()
        {
            return Duration.ofSeconds(5);
        }

        public void deliverNotification(final String sender, final byte[] payload)
        {
            got.add(new Notification(sender, payload));
        }

        public void deliverFailureNotification(final String sender, final byte[] payload, final String reason)
        {
            got.add(new Notification(sender, payload, reason));
        }

        public void peerDisconnected(final String peer, final String reason)
        {
        }

        public void peerConnectionsLost(final String peer, final String reason)
        {
            lost.add(peer);
        }
    }

    @Test
    void notificationsAndFailuresArriveInOrderAndALeavingPeerIsReported(@TempDir final Path dir) throws Exception
    {
        final Recorder a = new Recorder("a");
        final Recorder b = new Recorder("b");
        try (NotifyChannel ca = new NotifyChannel(a, dir.toString()))
        {
            try (NotifyChannel cb = new NotifyChannel(b, dir.toString()))
            {
                for (int i = 0; i < 100; i++)
                {
                    cb.send("a", ca.path(), NotifyChannel.DATA, null, ("n" + i).getBytes(StandardCharsets.UTF_8));
                }
                cb.send("a", ca.path(), NotifyChannel.FAILURE, "the copy failed", "req-9".getBytes(StandardCharsets.UTF_8));
                for (int i = 0; i < 100; i++)
                {
                    final Notification n = a.got.poll(10, TimeUnit.SECONDS);
                    assertThat(n.sender()).isEqualTo("b");
                    assertThat(n.payloadAsString()).isEqualTo("n" + i);
                }
                final Notification f = a.got.poll(10, TimeUnit.SECONDS);
                assertThat(f.isFailure()).isTrue();
                assertThat(f.failureReason()).isEqualTo("the copy failed");
                assertThat(f.payloadAsString()).isEqualTo("req-9");
                assertThat(Files.exists(Path.of(cb.path()))).isTrue();
            }
            final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.lost.isEmpty() && System.nanoTime() < end)
            {
                Thread.sleep(5);
            }
            assertThat(a.lost).containsExactly("b");
            assertThat(dir.toFile().list()).hasSize(1); // b removed its socket file
        }
        assertThat(dir.toFile().list()).isEmpty();
    }

    @Test
    void aMalformedFrameClosesOnlyItsConnection(@TempDir final Path dir) throws Exception
    {
        final Recorder a = new Recorder("a");
        try (NotifyChannel ca = new NotifyChannel(a, dir.toString());
            SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX))
        {
            raw.connect(UnixDomainSocketAddress.of(ca.path()));
            raw.write(ByteBuffer.allocate(12).put((byte)7).put((byte)1).putShort((short)1).putInt(0).putInt(1 << 30)
                .flip());
            assertThat(raw.read(ByteBuffer.allocate(1))).isEqualTo(-1); // closed on us
            final Recorder b = new Recorder("b");
            try (NotifyChannel cb = new NotifyChannel(b, dir.toString()))
            {
                cb.send("a", ca.path(), NotifyChannel.DATA, null, new byte[] {1});
                assertThat(a.got.poll(10, TimeUnit.SECONDS).sender()).isEqualTo("b");
            }
        }
    }

    @Test
    void anUnreachablePeerIsRemoteDisconnect(@TempDir final Path dir) throws Exception
    {
        try (NotifyChannel c = new NotifyChannel(new Recorder("a"), dir.toString()))
        {
            assertThat(expectError(ErrorCode.REMOTE_DISCONNECT, () -> c.send("gone", dir.resolve("nope.sock").toString(),
                NotifyChannel.DATA, null, new byte[0])).getMessage()).contains("cannot notify peer 'gone'");
        }
    }
}
