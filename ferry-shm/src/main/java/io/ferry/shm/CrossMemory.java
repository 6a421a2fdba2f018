package io.ferry.shm;

import io.ferry.internal.Posix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether cross-memory attach ({@code process_vm_readv} / {@code process_vm_writev}) reaches a peer: the kernel
 * allows it to a process of the same user when the Yama ptrace policy permits (or with {@code CAP_SYS_PTRACE}).
 * The first refusal is remembered for {@code backendInfo} and {@code ferry doctor}.
 */
final class CrossMemory
{
    private static volatile String refusal;

    private CrossMemory()
    {
    }

    /**
     * Reads 8 bytes the peer published from its memory and compares them with the value it published beside them:
     * that proves both that the kernel lets this process in and that the pid names the peer.
     *
     * @return null when it works, else why not.
     */
    static String probe(final int pid, final long address, final long expected)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment into = arena.allocate(8);
            final MemorySegment local = arena.allocate(Posix.IOVEC_BYTES);
            final MemorySegment remote = arena.allocate(Posix.IOVEC_BYTES);
            local.set(ValueLayout.JAVA_LONG, 0, into.address());
            local.set(ValueLayout.JAVA_LONG, 8, 8);
            remote.set(ValueLayout.JAVA_LONG, 0, address);
            remote.set(ValueLayout.JAVA_LONG, 8, 8);
            final long rc = Posix.crossMemory(false, pid, local, 1, remote, 1, Posix.captureSegment(arena));
            if (rc < 0)
            {
                final String why = "process_vm_readv of process " + pid + " failed: " + Posix.errnoName((int)-rc) +
                    ptracePolicy();
                if (Posix.EPERM == -rc)
                {
                    refusal = why;
                }
                return why;
            }
            if (8 != rc || into.get(ValueLayout.JAVA_LONG, 0) != expected)
            {
                return "process " + pid + " is not the agent that published it (its probe bytes differ)";
            }
            return null;
        }
    }

    private static String ptracePolicy()
    {
        final int scope = ptraceScope();
        return scope > 0 ? " (kernel.yama.ptrace_scope=" + scope + ": " + (1 == scope ?
            "only a parent may attach to its children" : "only an administrator may attach") + ")" : "";
    }

    private static int ptraceScope()
    {
        try
        {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/yama/ptrace_scope")).trim());
        }
        catch (final IOException | NumberFormatException ex)
        {
            return 0; // no Yama: the classic rule, same user
        }
    }

    /** @return what limits cross-memory attach here, or null when nothing is known to. */
    static String limitation()
    {
        final String seen = refusal;
        if (null != seen)
        {
            return "cross-memory attach refused (" + seen + "): memory not allocated from a ShmArena reaches " +
                "same-host peers through the next backend";
        }
        final int scope = ptraceScope();
        if (scope > 0)
        {
            return "kernel.yama.ptrace_scope=" + scope + " may refuse cross-memory attach between unrelated " +
                "processes: allocate from a ShmArena, or lower it (sysctl kernel.yama.ptrace_scope=0)";
        }
        return null;
    }
}
