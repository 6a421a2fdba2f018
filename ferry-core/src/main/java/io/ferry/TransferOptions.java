package io.ferry;

/**
 * Optional arguments of a transfer: a notification to deliver to the target once every byte is in place, and a
 * backend to use.
 *
 * @param notification the notification payload (may be empty), or null for no notification.
 * @param backend      the backend to use, or null for the agent's first backend that can do the transfer.
 */
public record TransferOptions(byte[] notification, String backend)
{
    /** No notification, any backend. */
    public static final TransferOptions NONE = new TransferOptions(null, null);

    /**
     * Copies the payload.
     */
    public TransferOptions
    {
        notification = null == notification ? null : notification.clone();
    }

    /**
     * @param payload notification bytes (may be empty).
     * @return options that attach a notification.
     */
    public static TransferOptions notify(final byte[] payload)
    {
        if (null == payload)
        {
            throw FerryException.invalid("notification payload is null (use TransferOptions.NONE for none)");
        }
        return new TransferOptions(payload, null);
    }

    /**
     * @param backendName the backend to use.
     * @return options that pick a backend.
     */
    public static TransferOptions backend(final String backendName)
    {
        return new TransferOptions(null, backendName);
    }

    /**
     * @param backendName the backend to use.
     * @return a copy of these options that picks a backend.
     */
    public TransferOptions withBackend(final String backendName)
    {
        return new TransferOptions(notification, backendName);
    }

    /**
     * @return a copy of the notification payload, or null.
     */
    public byte[] notification()
    {
        return null == notification ? null : notification.clone();
    }

    byte[] notificationUnsafe()
    {
        return notification;
    }
}
