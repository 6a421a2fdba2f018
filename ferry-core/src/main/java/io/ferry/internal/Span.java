package io.ferry.internal;

/**
 * Something that occupies (address, length) on a device.
 */
public interface Span
{
    /**
     * @return start address or offset.
     */
    long address();

    /**
     * @return length in bytes.
     */
    long length();

    /**
     * @return device id.
     */
    long deviceId();
}
