package io.ferry;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A message from a peer agent: either attached to a transfer (delivered once all of its bytes were in place) or
 * sent on its own with {@link Agent#sendNotification(String, byte[])}.
 * <p>
 * A <em>failure notification</em> ({@link #isFailure()}) carries the payload of a push that could not be
 * delivered, with the reason, so that a target waiting for that payload learns of the failure instead of waiting
 * for its deadline.
 */
public final class Notification
{
    private final String sender;
    private final byte[] payload;
    private final String failureReason;

    /**
     * @param sender  the sending agent's name.
     * @param payload the message (kept, not copied).
     */
    public Notification(final String sender, final byte[] payload)
    {
        this(sender, payload, null);
    }

    /**
     * @param sender        the sending agent's name.
     * @param payload       the message (kept, not copied).
     * @param failureReason why the transfer this notification belongs to failed, or null for a normal one.
     */
    public Notification(final String sender, final byte[] payload, final String failureReason)
    {
        this.sender = Objects.requireNonNull(sender, "sender");
        this.payload = Objects.requireNonNull(payload, "payload");
        this.failureReason = failureReason;
    }

    /**
     * @return true when this reports a transfer that failed rather than one whose data is in place.
     */
    public boolean isFailure()
    {
        return null != failureReason;
    }

    /**
     * @return why the transfer failed, or null for a normal notification.
     */
    public String failureReason()
    {
        return failureReason;
    }

    /**
     * @return the sending agent's name.
     */
    public String sender()
    {
        return sender;
    }

    /**
     * @return a copy of the message bytes.
     */
    public byte[] payload()
    {
        return payload.clone();
    }

    /**
     * @return the message length in bytes.
     */
    public int length()
    {
        return payload.length;
    }

    /**
     * @return the message decoded as UTF-8.
     */
    public String payloadAsString()
    {
        return new String(payload, StandardCharsets.UTF_8);
    }

    /**
     * @param prefix bytes to look for.
     * @return true when the message starts with {@code prefix}.
     */
    public boolean startsWith(final byte[] prefix)
    {
        return prefix.length <= payload.length && Arrays.equals(payload, 0, prefix.length, prefix, 0, prefix.length);
    }

    /**
     * {@inheritDoc}
     */
    public boolean equals(final Object o)
    {
        return o instanceof Notification n && sender.equals(n.sender) && Arrays.equals(payload, n.payload) &&
            Objects.equals(failureReason, n.failureReason);
    }

    /**
     * {@inheritDoc}
     */
    public int hashCode()
    {
        return sender.hashCode() * 31 + Arrays.hashCode(payload);
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "Notification{from=" + sender + ", " + payload.length + " B" +
            (null == failureReason ? "" : ", FAILED: " + failureReason) + "}";
    }
}
