package io.ferry.spi;

import io.ferry.MemoryKind;

import java.lang.foreign.MemorySegment;
import java.util.ServiceLoader;

/**
 * Host access to device memory for backends that move bytes through the CPU (the TCP backend stages GPU memory
 * through pinned host buffers). Found with {@link ServiceLoader}; {@code ferry-cuda} provides one for VRAM.
 */
public interface DeviceMemory
{
    /**
     * @return the memory kind this serves, e.g. VRAM.
     */
    MemoryKind kind();

    /**
     * @return why it cannot run here (no driver, no device), or null when it can.
     */
    String unavailableReason();

    /**
     * Checks that a span is live device memory on that device.
     *
     * @param address the device address.
     * @param length  its length.
     * @param device  the device id.
     * @throws io.ferry.FerryException INVALID_PARAM naming what is wrong.
     */
    void checkRegion(long address, long length, long device);

    /**
     * @param bytes the buffer's size.
     * @return a staging lane: a page-locked host buffer with its own copy queue, for one thread at a time.
     */
    Staging openStaging(long bytes);

    /**
     * A pinned host buffer and a private copy queue (a stream per device): copies are queued, then
     * {@link #await()} waits for all of them, so a frame of many pieces costs one wait; lanes of different
     * threads copy concurrently. {@link #mark()} and {@link #awaitMark(int)} wait for a prefix of the queued copies,
     * so that a caller can send the first part of the buffer while the device still fills the rest.
     */
    interface Staging extends AutoCloseable
    {
        /** The most marks that may be outstanding (made and not yet waited for by {@link #await()}). */
        int MAX_MARKS = 64;

        /**
         * @return the pinned host buffer.
         */
        MemorySegment buffer();

        /**
         * Queues a copy of device memory into the buffer.
         *
         * @param device       the device id.
         * @param src          the device address.
         * @param bufferOffset where in the buffer.
         * @param length       bytes.
         */
        void toHost(long device, long src, long bufferOffset, long length);

        /**
         * Queues a copy of the buffer into device memory.
         *
         * @param device       the device id.
         * @param bufferOffset where in the buffer.
         * @param dst          the device address.
         * @param length       bytes.
         */
        void toDevice(long device, long bufferOffset, long dst, long length);

        /**
         * Marks the copies queued so far.
         *
         * @return the mark's number (consecutive numbers for consecutive marks).
         */
        int mark();

        /**
         * Waits until every copy queued before the mark is done (later ones may still run).
         *
         * @param mark what {@link #mark()} returned, one of the latest {@link #MAX_MARKS}.
         */
        void awaitMark(int mark);

        /**
         * Waits until every queued copy is done.
         */
        void await();

        /**
         * Waits for queued copies, then frees the buffer and the queue.
         */
        void close();
    }

    /**
     * @param kind a memory kind.
     * @return a usable provider for it on this host, or null.
     */
    static DeviceMemory find(final MemoryKind kind)
    {
        for (final DeviceMemory d : ServiceLoader.load(DeviceMemory.class, DeviceMemory.class.getClassLoader()))
        {
            if (d.kind() == kind && null == d.unavailableReason())
            {
                return d;
            }
        }
        return null;
    }
}
