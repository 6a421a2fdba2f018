package io.ferry;

import java.lang.foreign.MemorySegment;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable list of transfer descriptors of one memory kind (NIXL's {@code nixl_xfer_dlist_t}), stored as
 * primitive arrays so that lists of tens of thousands of descriptors cost no object per descriptor.
 * <p>
 * Serialized form ({@link #serialize()}), big-endian:
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                    magic 'FRDL' (0x4652444C)                  |
 * +---------------+---------------+-------------------------------+
 * |  version (1)  |  memory kind  |          reserved (0)         |
 * +---------------+---------------+-------------------------------+
 * |                       descriptor count                        |
 * +---------------------------------------------------------------+
 * |            count x { address u64, length u64, device u64 }   ...
 * +---------------------------------------------------------------+
 * </pre>
 */
public final class DescList
{
    static final int MAGIC = 0x4652444C;
    static final byte VERSION = 1;
    static final int HEADER_LENGTH = 12;
    static final int ENTRY_LENGTH = 24;

    private final MemoryKind kind;
    private final int count;
    private final long[] addresses;
    private final long[] lengths;
    private final long[] devices;

    private DescList(
        final MemoryKind kind, final int count, final long[] addresses, final long[] lengths, final long[] devices)
    {
        this.kind = kind;
        this.count = count;
        this.addresses = addresses;
        this.lengths = lengths;
        this.devices = devices;
    }

    /**
     * @param kind     memory kind of every descriptor.
     * @param capacity expected number of descriptors (grows as needed).
     * @return a builder.
     */
    public static Builder builder(final MemoryKind kind, final int capacity)
    {
        return new Builder(kind, capacity);
    }

    /**
     * @param kind memory kind of every descriptor.
     * @return a builder.
     */
    public static Builder builder(final MemoryKind kind)
    {
        return new Builder(kind, 16);
    }

    /**
     * @param kind  memory kind.
     * @param descs the descriptors.
     * @return the list.
     */
    public static DescList of(final MemoryKind kind, final List<MemoryDesc> descs)
    {
        final Builder b = builder(kind, descs.size());
        for (final MemoryDesc d : descs)
        {
            b.add(d);
        }
        return b.build();
    }

    /**
     * @param kind  memory kind.
     * @param descs the descriptors.
     * @return the list.
     */
    public static DescList of(final MemoryKind kind, final MemoryDesc... descs)
    {
        return of(kind, Arrays.asList(descs));
    }

    /**
     * Host memory descriptors, one per native segment (typically slices of a registered region).
     *
     * @param segments the memory.
     * @return a DRAM list.
     */
    public static DescList dram(final MemorySegment... segments)
    {
        final Builder b = builder(MemoryKind.DRAM, segments.length);
        for (final MemorySegment s : segments)
        {
            b.add(s);
        }
        return b.build();
    }

    /**
     * An empty list.
     *
     * @param kind memory kind.
     * @return the list.
     */
    public static DescList empty(final MemoryKind kind)
    {
        return builder(kind, 0).build();
    }

    long[] addressesUnsafe()
    {
        return addresses;
    }

    long[] lengthsUnsafe()
    {
        return lengths;
    }

    /**
     * @return the memory kind of every descriptor.
     */
    public MemoryKind kind()
    {
        return kind;
    }

    /**
     * @return the number of descriptors.
     */
    public int size()
    {
        return count;
    }

    /**
     * @return true when the list holds no descriptor.
     */
    public boolean isEmpty()
    {
        return 0 == count;
    }

    /**
     * @param i index.
     * @return the address of descriptor {@code i}.
     */
    public long address(final int i)
    {
        return addresses[Objects.checkIndex(i, count)];
    }

    /**
     * @param i index.
     * @return the length of descriptor {@code i}.
     */
    public long length(final int i)
    {
        return lengths[Objects.checkIndex(i, count)];
    }

    /**
     * @param i index.
     * @return the device id of descriptor {@code i}.
     */
    public long deviceId(final int i)
    {
        return devices[Objects.checkIndex(i, count)];
    }

    /**
     * @param i index.
     * @return descriptor {@code i} as an object.
     */
    public MemoryDesc get(final int i)
    {
        Objects.checkIndex(i, count);
        return new MemoryDesc(addresses[i], lengths[i], devices[i]);
    }

    /**
     * @return the sum of all lengths.
     */
    public long totalBytes()
    {
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += lengths[i];
        }
        return total;
    }

    /**
     * The index of a descriptor equal to {@code desc} (NIXL's {@code getIndex}).
     *
     * @param desc the descriptor to find.
     * @return its first index, or -1 when no descriptor is equal to it.
     */
    public int indexOf(final MemoryDesc desc)
    {
        for (int i = 0; i < count; i++)
        {
            if (addresses[i] == desc.address() && lengths[i] == desc.length() && devices[i] == desc.deviceId())
            {
                return i;
            }
        }
        return -1;
    }

    /**
     * @return the descriptors as objects.
     */
    public List<MemoryDesc> toList()
    {
        final MemoryDesc[] out = new MemoryDesc[count];
        for (int i = 0; i < count; i++)
        {
            out[i] = get(i);
        }
        return List.of(out);
    }

    /**
     * @return the list in the binary form drawn in the class comment.
     */
    public byte[] serialize()
    {
        final ByteBuffer buf = ByteBuffer.allocate(HEADER_LENGTH + ENTRY_LENGTH * count);
        buf.putInt(MAGIC).put(VERSION).put((byte)kind.ordinal()).putShort((short)0).putInt(count);
        for (int i = 0; i < count; i++)
        {
            buf.putLong(addresses[i]).putLong(lengths[i]).putLong(devices[i]);
        }
        return buf.array();
    }

    /**
     * Decodes {@link #serialize()}'s output.
     *
     * @param bytes the serialized list.
     * @return the list.
     * @throws FerryException MISMATCH when the bytes are not a valid serialized list.
     */
    public static DescList deserialize(final byte[] bytes)
    {
        if (null == bytes || bytes.length < HEADER_LENGTH)
        {
            throw new FerryException(ErrorCode.MISMATCH, "descriptor list is shorter than its 12-byte header");
        }
        try
        {
            final ByteBuffer buf = ByteBuffer.wrap(bytes);
            if (MAGIC != buf.getInt())
            {
                throw new FerryException(ErrorCode.MISMATCH, "not a serialized descriptor list (bad magic)");
            }
            final byte version = buf.get();
            if (VERSION != version)
            {
                throw new FerryException(ErrorCode.MISMATCH, "descriptor list version " + version +
                    " is not supported (this ferry reads " + VERSION + ")");
            }
            final int kindOrdinal = buf.get();
            if (kindOrdinal < 0 || kindOrdinal >= MemoryKind.values().length)
            {
                throw new FerryException(ErrorCode.MISMATCH, "descriptor list has unknown memory kind " + kindOrdinal);
            }
            buf.getShort();
            final int n = buf.getInt();
            if (n < 0 || (long)n * ENTRY_LENGTH != buf.remaining())
            {
                throw new FerryException(ErrorCode.MISMATCH, "descriptor list claims " + n +
                    " descriptors but carries " + buf.remaining() + " bytes of them");
            }
            final Builder b = builder(MemoryKind.values()[kindOrdinal], n);
            for (int i = 0; i < n; i++)
            {
                final long a = buf.getLong();
                final long l = buf.getLong();
                final long d = buf.getLong();
                if (a < 0 || l < 0)
                {
                    throw new FerryException(ErrorCode.MISMATCH, "descriptor " + i + " has a negative field");
                }
                b.add(a, l, d);
            }
            return b.build();
        }
        catch (final BufferUnderflowException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "descriptor list is truncated", ex);
        }
    }

    /**
     * {@inheritDoc}
     */
    public boolean equals(final Object o)
    {
        if (!(o instanceof DescList other) || other.kind != kind || other.count != count)
        {
            return false;
        }
        return Arrays.equals(addresses, 0, count, other.addresses, 0, count) &&
            Arrays.equals(lengths, 0, count, other.lengths, 0, count) &&
            Arrays.equals(devices, 0, count, other.devices, 0, count);
    }

    /**
     * {@inheritDoc}
     */
    public int hashCode()
    {
        int h = kind.hashCode();
        for (int i = 0; i < count; i++)
        {
            h = 31 * h + Long.hashCode(addresses[i] ^ lengths[i] * 31 ^ devices[i]);
        }
        return h;
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        final StringBuilder sb = new StringBuilder(kind.name()).append('[').append(count).append(" descs");
        for (int i = 0; i < Math.min(count, 4); i++)
        {
            sb.append(i == 0 ? ": " : ", ").append(get(i));
        }
        return sb.append(count > 4 ? ", ...]" : "]").toString();
    }

    /**
     * Collects descriptors; not thread-safe.
     */
    public static final class Builder
    {
        private final MemoryKind kind;
        private int count;
        private long[] addresses;
        private long[] lengths;
        private long[] devices;

        Builder(final MemoryKind kind, final int capacity)
        {
            this.kind = Objects.requireNonNull(kind, "kind");
            if (capacity < 0)
            {
                throw FerryException.invalid("capacity " + capacity + " is negative");
            }
            addresses = new long[capacity];
            lengths = new long[capacity];
            devices = new long[capacity];
        }

        /**
         * @param address address or offset.
         * @param length  length in bytes.
         * @param device  device id.
         * @return this builder.
         * @throws FerryException INVALID_PARAM for a negative address or length.
         */
        public Builder add(final long address, final long length, final long device)
        {
            if (address < 0 || length < 0)
            {
                throw FerryException.invalid("descriptor " + count + " has negative " +
                    (address < 0 ? "address " + address : "length " + length));
            }
            if (count == addresses.length)
            {
                final int n = Math.max(16, count * 2);
                addresses = Arrays.copyOf(addresses, n);
                lengths = Arrays.copyOf(lengths, n);
                devices = Arrays.copyOf(devices, n);
            }
            addresses[count] = address;
            lengths[count] = length;
            devices[count] = device;
            count++;
            return this;
        }

        /**
         * @param address address.
         * @param length  length in bytes.
         * @return this builder (device 0).
         */
        public Builder add(final long address, final long length)
        {
            return add(address, length, 0);
        }

        /**
         * @param desc the descriptor.
         * @return this builder.
         */
        public Builder add(final MemoryDesc desc)
        {
            return add(desc.address(), desc.length(), desc.deviceId());
        }

        /**
         * @param segment native memory (device 0).
         * @return this builder.
         */
        public Builder add(final MemorySegment segment)
        {
            if (!segment.isNative())
            {
                throw FerryException.invalid("descriptor " + count + " is a heap segment; use native memory");
            }
            return add(segment.address(), segment.byteSize(), 0);
        }

        /**
         * @return the immutable list.
         */
        public DescList build()
        {
            return new DescList(kind, count, Arrays.copyOf(addresses, count), Arrays.copyOf(lengths, count),
                Arrays.copyOf(devices, count));
        }
    }
}
