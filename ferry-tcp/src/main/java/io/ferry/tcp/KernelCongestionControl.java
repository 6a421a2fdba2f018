package io.ferry.tcp;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.channels.SocketChannel;

/**
 * Sets a socket's kernel congestion control ({@code setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name)}) through
 * FFM; the JDK has no socket option for it. Reading a channel's file descriptor needs
 * {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}; without it (or off Linux) {@link #apply} says why and
 * the socket keeps the system default.
 */
@SuppressWarnings("restricted") // one libc call with a fixed signature
final class KernelCongestionControl
{
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_CONGESTION = 13;
    private static final MethodHandle SETSOCKOPT;
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final java.lang.reflect.Method FD_VAL;
    private static final String UNAVAILABLE;

    static
    {
        MethodHandle setsockopt = null;
        java.lang.reflect.Method fdVal = null;
        String why = null;
        try
        {
            final Linker linker = Linker.nativeLinker();
            setsockopt = linker.downcallHandle(linker.defaultLookup().find("setsockopt").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
            fdVal = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
        }
        catch (final ReflectiveOperationException | RuntimeException ex)
        {
            why = "cannot reach setsockopt or channel descriptors: " + ex;
        }
        SETSOCKOPT = setsockopt;
        FD_VAL = fdVal;
        UNAVAILABLE = why;
    }

    private KernelCongestionControl()
    {
    }

    /**
     * @param channel   a socket.
     * @param algorithm e.g. "cubic".
     * @return null when set, else why not.
     */
    static String apply(final SocketChannel channel, final String algorithm)
    {
        if (null != UNAVAILABLE)
        {
            return UNAVAILABLE;
        }
        final int fd;
        try
        {
            fd = (int)FD_VAL.invoke(channel);
        }
        catch (final IllegalAccessException | RuntimeException ex)
        {
            return "the JVM does not export sun.nio.ch (add --add-exports java.base/sun.nio.ch=ALL-UNNAMED): " + ex;
        }
        catch (final java.lang.reflect.InvocationTargetException ex)
        {
            return "cannot read the socket's descriptor: " + ex.getCause();
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment name = arena.allocateFrom(algorithm);
            final MemorySegment state = arena.allocate(CAPTURE);
            final int rc = (int)SETSOCKOPT.invokeExact(state, fd, IPPROTO_TCP, TCP_CONGESTION, name,
                (int)name.byteSize() - 1);
            return 0 == rc ? null : "setsockopt(TCP_CONGESTION, " + algorithm + ") failed with errno " +
                (int)ERRNO.get(state, 0L) + " (is the algorithm loaded? see /proc/sys/net/ipv4/" +
                "tcp_available_congestion_control)";
        }
        catch (final Throwable t)
        {
            return "setsockopt failed: " + t;
        }
    }
}
