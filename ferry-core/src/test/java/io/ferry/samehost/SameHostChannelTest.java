package io.ferry.samehost;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.internal.Posix;
import io.ferry.internal.SystemCallException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/** The same-host channel over real Unix sockets in the abstract namespace (no GPU, no second process needed). */
@Timeout(30)
@SuppressWarnings("restricted")
class SameHostChannelTest
{
    /** Records what arrives; grants one memory file. */
    private static final class Recorder implements SameHostChannel.Listener
    {
        final LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
        final List<String> initiatorsLost = new CopyOnWriteArrayList<>();
        final List<String> targetsLost = new CopyOnWriteArrayList<>();
        volatile int grantFd = -1;

        public void notification(final String sender, final byte[] payload)
        {
            got.add(sender + ":" + new String(payload, StandardCharsets.UTF_8));
        }

        public void failureNotification(final String sender, final byte[] payload, final String reason)
        {
            got.add(sender + ":" + new String(payload, StandardCharsets.UTF_8) + ":failed:" + reason);
        }

        public SameHostChannel.Grant grant(final String sender, final long address, final long length,
            final long accessKey)
        {
            if (accessKey != 42)
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, "wrong access key for 0x" + Long.toHexString(address));
            }
            return new SameHostChannel.Grant(Posix.duplicate(grantFd), 4096);
        }

        public void initiatorLost(final String sender, final String reason)
        {
            initiatorsLost.add(sender);
        }

        public void targetLost(final String peer, final String reason)
        {
            targetsLost.add(peer);
        }
    }

    private static SameHostChannel channel(final String name, final String secret, final Recorder r)
    {
        return new SameHostChannel(name, null == secret ? null : secret.getBytes(StandardCharsets.UTF_8), r, 2_000, 8,
            "test");
    }

    private static void waitFor(final List<String> list) throws InterruptedException
    {
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (list.isEmpty() && System.nanoTime() < end)
        {
            Thread.sleep(5);
        }
    }

    @Test
    @SuppressWarnings("try")
    void notificationsAndFailuresArriveInOrderAndEitherSideLearnsTheOtherLeft() throws Exception
    {
        final Recorder a = new Recorder();
        final Recorder b = new Recorder();
        try (SameHostChannel ca = channel("a", null, a))
        {
            try (SameHostChannel cb = channel("b", null, b))
            {
                for (int i = 0; i < 100; i++)
                {
                    cb.notify("a", ca.address(), ("n" + i).getBytes(StandardCharsets.UTF_8));
                }
                cb.notifyFailure("a", ca.address(), "req-9".getBytes(StandardCharsets.UTF_8), "the copy failed");
                for (int i = 0; i < 100; i++)
                {
                    assertThat(a.got.poll(10, TimeUnit.SECONDS)).isEqualTo("b:n" + i);
                }
                assertThat(a.got.poll(10, TimeUnit.SECONDS)).isEqualTo("b:req-9:failed:the copy failed");
                assertThat(cb.peerPid("a")).isEqualTo((int)ProcessHandle.current().pid());
            }
            waitFor(a.initiatorsLost);
            assertThat(a.initiatorsLost).containsExactly("b");
            final SameHostChannel cc = channel("c", null, new Recorder());
            cc.connect("a", ca.address());
            final Recorder c = new Recorder();
            try (SameHostChannel cd = channel("d", null, c))
            {
                cd.connect("a", ca.address());
                ca.close();
                waitFor(c.targetsLost);
                assertThat(c.targetsLost).containsExactly("a");
            }
            cc.close();
        }
    }

    @Test
    void aMemoryFileTravelsWithItsOffsetAndAWrongKeyIsRefused() throws Exception
    {
        final Recorder a = new Recorder();
        final int fd = Posix.sealedMemfd("test", 16384);
        a.grantFd = fd;
        try (SameHostChannel ca = channel("a", "s3cret", a); SameHostChannel cb = channel("b", "s3cret", new Recorder()))
        {
            final long mine = Posix.mapShared(fd, 0, 16384);
            MemorySegment.ofAddress(mine).reinterpret(16384).set(ValueLayout.JAVA_LONG, 4096, 0x1234_5678L);
            final SameHostChannel.SharedFile f = cb.requestFile("a", ca.address(), 0x1000, 100, 42);
            assertThat(f.offset()).isEqualTo(4096);
            assertThat(f.fileSize()).isEqualTo(16384);
            assertThat(Posix.seals(f.fd()) & Posix.F_SEAL_SHRINK).isNotZero();
            final long theirs = Posix.mapShared(f.fd(), 0, 16384);
            assertThat(MemorySegment.ofAddress(theirs).reinterpret(16384).get(ValueLayout.JAVA_LONG, 4096))
                .isEqualTo(0x1234_5678L);
            Posix.unmap(theirs, 16384);
            Posix.unmap(mine, 16384);
            Posix.close(f.fd());
            assertThat(expectError(ErrorCode.NOT_ALLOWED, () -> cb.requestFile("a", ca.address(), 0x1000, 100, 7))
                .getMessage()).contains("wrong access key");
        }
        finally
        {
            Posix.close(fd);
        }
    }

    @Test
    void aSecretIsProvedBothWaysAndAnImpostorNameIsRefused() throws Exception
    {
        try (SameHostChannel target = channel("t", "ours", new Recorder());
            SameHostChannel stranger = channel("s", "theirs", new Recorder());
            SameHostChannel open = channel("o", null, new Recorder());
            SameHostChannel openTarget = channel("ot", null, new Recorder()))
        {
            assertThat(expectError(ErrorCode.NOT_ALLOWED, () -> stranger.connect("t", target.address())).getMessage())
                .contains("did not prove the shared secret");
            assertThat(expectError(ErrorCode.NOT_ALLOWED, () -> open.connect("t", target.address())).getMessage())
                .contains("refused");
            final SameHostChannel secured = channel("x", "ours", new Recorder());
            try (secured)
            {
                expectError(ErrorCode.NOT_ALLOWED, () -> secured.connect("ot", openTarget.address()));
                assertThat(expectError(ErrorCode.NOT_ALLOWED, () -> secured.connect("someone-else", target.address()))
                    .getMessage()).contains("is 't', not 'someone-else'");
                secured.connect("t", target.address());
            }
            assertThat(expectError(ErrorCode.REMOTE_DISCONNECT, () -> open.notify("gone", "ferry-nobody-here",
                new byte[0])).getMessage()).contains("does not listen");
        }
    }

    @Test
    void aFrameThatBreaksTheProtocolClosesOnlyItsConnection() throws Exception
    {
        final Recorder a = new Recorder();
        try (SameHostChannel ca = channel("a", null, a); Arena arena = Arena.ofConfined())
        {
            final int raw = Posix.unixSocket();
            try
            {
                Posix.connect(raw, ca.address());
                // a HELLO that declares a 1 GiB body: refused before anything is allocated
                Posix.sendAll(raw, ByteBuffer.allocate(16).put((byte)1).put((byte)1).putShort((short)0)
                    .putInt(1 << 30).putLong(0).array(), -1);
                final MemorySegment buf = arena.allocate(64);
                final int n = Posix.receive(raw, buf, arena.allocate(Posix.RECV_SCRATCH_BYTES),
                    Posix.captureSegment(arena), new int[]{-1});
                assertThat(n).as("closed on us").isZero();
            }
            finally
            {
                Posix.close(raw);
            }
            try (SameHostChannel cb = channel("b", null, new Recorder()))
            {
                cb.notify("a", ca.address(), new byte[]{'x'});
                assertThat(a.got.poll(10, TimeUnit.SECONDS)).isEqualTo("b:x");
            }
            expectError(ErrorCode.INVALID_PARAM, () -> channel("c", null, new Recorder()).notify("a", ca.address(),
                new byte[SameHostChannel.MAX_NOTIFICATION + 1]));
        }
    }

    private static long strangerThreads()
    {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() &&
            t.getName().equals("ferry-test-in-a")).count();
    }

    @Test
    void randomBytesFromStrangersNeverHurtTheListener() throws Exception
    {
        final Recorder a = new Recorder();
        final java.util.SplittableRandom random = new java.util.SplittableRandom(2026);
        try (SameHostChannel ca = new SameHostChannel("a", "s3cret".getBytes(StandardCharsets.UTF_8), a, 2_000, 256,
            "test"))
        {
            for (int i = 0; i < 3000; i++)
            {
                final int raw = Posix.unixSocket();
                try
                {
                    Posix.connect(raw, ca.address());
                    final byte[] junk = new byte[random.nextInt(2, 300)];
                    random.nextBytes(junk);
                    if (0 == i % 2)
                    {
                        junk[0] = 1; // a HELLO type with a random length and body
                        junk[1] = 1;
                    }
                    Posix.sendAll(raw, junk, -1);
                }
                catch (final SystemCallException ex)
                {
                    // the listener closed on us first: fine
                }
                finally
                {
                    Posix.close(raw);
                }
            }
            try (SameHostChannel cb = channel("b", "s3cret", new Recorder()))
            {
                cb.notify("a", ca.address(), new byte[]{'y'});
                assertThat(a.got.poll(10, TimeUnit.SECONDS)).isEqualTo("b:y");
            }
            assertThat(a.got).isEmpty();
            assertThat(a.initiatorsLost).doesNotContain("a");
            // every stranger's thread ended (closing a shared arena per connection once piled up 30,000 of them)
            final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (strangerThreads() > 0 && System.nanoTime() < end)
            {
                Thread.sleep(10);
            }
            assertThat(strangerThreads()).isZero();
        }
    }
}
