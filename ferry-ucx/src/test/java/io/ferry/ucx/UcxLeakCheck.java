package io.ferry.ucx;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * After each test (and its own clean-up), no UCP context of this process is left, and no UCX worker stopped on an
 * error or closed without releasing everything.
 */
final class UcxLeakCheck implements AfterEachCallback
{
    public void afterEach(final ExtensionContext context)
    {
        assertThat(UcxWorker.UNCLEAN_CLOSES.getAndSet(0)).as("UCX workers that failed or closed uncleanly").isZero();
        assertThat(UcxWorker.LIVE_CONTEXTS.get()).as("UCP contexts left after the test").isZero();
    }
}
