package io.ferry.cli;

import java.io.PrintWriter;

/**
 * A one-line progress bar on stderr for long sweeps: {@code bench [########............] 8/20  1.00 MiB x 1}.
 */
final class ProgressBar
{
    private static final int WIDTH = 24;
    private final PrintWriter err;
    private final int total;
    private final boolean enabled;

    ProgressBar(final PrintWriter err, final int total, final boolean enabled)
    {
        this.err = err;
        this.total = Math.max(1, total);
        this.enabled = enabled;
    }

    void show(final int done, final String what)
    {
        if (enabled)
        {
            final int filled = (int)((long)WIDTH * done / total);
            err.print("\rbench [" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + done + "/" + total + "  " +
                what + "      ");
            err.flush();
        }
    }

    void done(final int done)
    {
        if (enabled)
        {
            show(done, "done");
            err.println();
            err.flush();
        }
    }
}
