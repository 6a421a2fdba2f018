package io.ferry.connect;

import io.ferry.ErrorCode;
import org.junit.jupiter.api.Test;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/** The lease table on a fake clock: expiry, extension, release, peer loss. */
class LeaseTableTest
{
    private static final long MS = 1_000_000L;

    private static BlockLease lease(final String peer, final String id, final long durationMs, final long now)
    {
        return new BlockLease(null, peer, id, new int[] {1}, durationMs * MS, now);
    }

    @Test
    void expiresAtTheDeadlineUnlessExtended()
    {
        final LeaseTable t = new LeaseTable();
        final long t0 = 1_000 * MS;
        final BlockLease a = lease("p", "a", 100, t0);
        final BlockLease b = lease("p", "b", 100, t0);
        t.add(a);
        t.add(b);
        assertThat(t.takeExpired(t0 + 99 * MS)).isEmpty();
        assertThat(t.extend("p", "b", t0 + 99 * MS)).isTrue();
        assertThat(t.takeExpired(t0 + 100 * MS)).containsExactly(a);
        assertThat(t.extend("p", "a", t0 + 101 * MS)).isFalse();
        assertThat(t.takeExpired(t0 + 198 * MS)).isEmpty();
        assertThat(t.takeExpired(t0 + 199 * MS)).containsExactly(b);
        assertThat(t.size()).isZero();
    }

    @Test
    void releaseAndPeerLossTakeLeasesOut()
    {
        final LeaseTable t = new LeaseTable();
        t.add(lease("p", "a", 100, 0));
        t.add(lease("q", "a", 100, 0));
        t.add(lease("q", "b", 100, 0));
        expectError(ErrorCode.INVALID_PARAM, () -> t.add(lease("q", "b", 5, 0)));
        assertThat(t.take("p", "a").peer()).isEqualTo("p");
        assertThat(t.take("p", "a")).isNull();
        assertThat(t.takePeer("q")).hasSize(2);
        assertThat(t.size()).isZero();
    }

    @Test
    void clockWrapIsHandled()
    {
        final LeaseTable t = new LeaseTable();
        final long near = Long.MAX_VALUE - 10 * MS;
        t.add(lease("p", "a", 100, near));
        assertThat(t.takeExpired(near + 50 * MS)).isEmpty();
        assertThat(t.takeExpired(near + 100 * MS)).hasSize(1);
    }
}
