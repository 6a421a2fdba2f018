package io.ferry.internal;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The match-and-wait queue: bounds, matching, aborts, closing, deadlines. */
@Timeout(30)
class MatchQueueTest
{
    private static final java.util.function.Supplier<FerryException> CLOSED =
        () -> new FerryException(ErrorCode.CANCELED, "closed");
    private static final java.util.function.IntFunction<FerryException> LATE =
        n -> new FerryException(ErrorCode.TIMED_OUT, n + " others");

    @Test
    void theOldestAreDroppedBeyondTheCountOrTheWeightAndHandedBack()
    {
        final MatchQueue<String> q = new MatchQueue<>(3, 10, String::length);
        assertThat(q.add("aaaa")).isEmpty();
        assertThat(q.add("bbbb")).isEmpty();
        assertThat(q.add("cc")).isEmpty();
        assertThat(q.add("d")).as("a fourth item: over the count").containsExactly("aaaa");
        assertThat(q.add("eeeeee")).as("over the weight: 4+2+1+6 > 10").containsExactly("bbbb");
        assertThat(q.add("fff")).as("2+1+6+3 > 10, then 1+6+3 = 10").containsExactly("cc");
        assertThat(q.add("ggggggggg")).as("then 6+3+9 and 3+9 > 10: all but the newest").containsExactly("d",
            "eeeeee", "fff");
        assertThat(q.drain()).containsExactly("ggggggggg");
        assertThat(q.add("x".repeat(50))).as("one item over the weight alone is kept").isEmpty();
        assertThat(q.size()).isEqualTo(1);
    }

    @Test
    void aWaiterTakesTheOldestMatchAndOthersStay()
    {
        final MatchQueue<String> q = new MatchQueue<>(10, 100, String::length);
        q.add("a1");
        q.add("b1");
        q.add("a2");
        assertThat(q.await(s -> s.startsWith("a"), Duration.ZERO, null, CLOSED, LATE)).isEqualTo("a1");
        assertThat(catchThrowableOfType(FerryException.class,
            () -> q.await(s -> s.startsWith("z"), Duration.ofMillis(20), null, CLOSED, LATE)).getMessage())
            .contains("2 others");
        assertThat(q.drain()).containsExactly("b1", "a2");
    }

    @Test
    void anAbortOrACloseEndsTheWaitAtOnce() throws Exception
    {
        final MatchQueue<String> q = new MatchQueue<>(10, 100, String::length);
        final AtomicReference<String> lost = new AtomicReference<>();
        final CompletableFuture<Throwable> waiter = CompletableFuture.supplyAsync(() -> catchThrowableOfType(
            FerryException.class, () -> q.await(s -> true, Duration.ofSeconds(20),
                () -> null == lost.get() ? null : new FerryException(ErrorCode.REMOTE_DISCONNECT, lost.get()), CLOSED,
                LATE)));
        Thread.sleep(100);
        lost.set("peer gone");
        q.signal();
        assertThat(((FerryException)waiter.get(5, TimeUnit.SECONDS)).code()).isEqualTo(ErrorCode.REMOTE_DISCONNECT);

        final CompletableFuture<Throwable> second = CompletableFuture.supplyAsync(() -> catchThrowableOfType(
            FerryException.class, () -> q.await(s -> true, Duration.ofSeconds(20), null, CLOSED, LATE)));
        Thread.sleep(100);
        q.close();
        assertThat(((FerryException)second.get(5, TimeUnit.SECONDS)).code()).isEqualTo(ErrorCode.CANCELED);
        assertThat(q.add("after")).isEmpty();
        assertThat(q.drain()).isEqualTo(List.of());
    }
}
