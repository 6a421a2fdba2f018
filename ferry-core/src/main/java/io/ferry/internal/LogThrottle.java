package io.ferry.internal;

/**
 * Bounds how often one kind of log line is written when strangers can trigger it (a refused handshake, a refused
 * request): at most {@code burst} lines per {@code periodNs}; the lines held back are counted and their number is
 * told on the next line that is written. Deterministic: the caller passes the clock. Thread-safe.
 */
public final class LogThrottle
{
    private final int burst;
    private final long periodNs;
    private long windowStartNs;
    private boolean started;
    private int written;
    private long suppressed;

    /**
     * @param burst    lines allowed per period.
     * @param periodNs the period.
     */
    public LogThrottle(final int burst, final long periodNs)
    {
        if (burst < 1 || periodNs < 1)
        {
            throw new IllegalArgumentException("burst and period must be positive");
        }
        this.burst = burst;
        this.periodNs = periodNs;
    }

    /**
     * @param nowNs the time now.
     * @return -1 when this line should be held back; else how many lines were held back since the last one written
     * (0 when none), to be said on it.
     */
    public synchronized long admit(final long nowNs)
    {
        if (!started || nowNs - windowStartNs >= periodNs)
        {
            started = true;
            windowStartNs = nowNs;
            written = 0;
        }
        if (written >= burst)
        {
            suppressed++;
            return -1;
        }
        written++;
        final long held = suppressed;
        suppressed = 0;
        return held;
    }

    /**
     * Makes text a peer sent safe for one log line: control characters (a newline that would forge a line of its
     * own) become '?', and it is cut to {@code max} characters.
     *
     * @param text the peer's text.
     * @param max  most characters kept.
     * @return the text as it may be logged.
     */
    public static String printable(final String text, final int max)
    {
        if (null == text)
        {
            return "null";
        }
        final StringBuilder sb = new StringBuilder(Math.min(text.length(), max) + 8);
        for (int i = 0; i < text.length() && sb.length() < max; i++)
        {
            final char c = text.charAt(i);
            sb.append(Character.isISOControl(c) || Character.getType(c) == Character.FORMAT ? '?' : c);
        }
        if (text.length() > max)
        {
            sb.append("...");
        }
        return sb.toString();
    }
}
