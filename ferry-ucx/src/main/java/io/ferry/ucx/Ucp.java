package io.ferry.ucx;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The subset of UCX's UCP API that ferry uses, bound over FFM to {@code libucp.so.0} (and {@code libucs.so.0} for
 * status strings) as the host has them: context, worker, endpoint, memory mapping and rkeys, {@code put_nbx} /
 * {@code get_nbx}, flush, active messages, progress and wakeup. No JNI and no UCX headers at build time: the
 * parameter structs' offsets below are those of UCX 1.x on x86-64 and aarch64 (LP64), which only ever appends
 * fields and guards each by a bit of {@code field_mask}; a struct is always allocated larger than any UCX version's
 * and zeroed, and only fields whose bit is set are read by UCX.
 * <p>
 * Every call except {@code ucp_worker_signal} and {@code ucs_status_string} is made on the thread that owns the
 * worker ({@code UCS_THREAD_MODE_SINGLE}); {@link UcxWorker} is that thread.
 */
@SuppressWarnings("restricted") // binding a native library and reading what it returns is what this class is for
final class Ucp
{
    /** The UCP API version these bindings were written against (UCX 1.13, Debian 12's). */
    static final int API_MAJOR = 1;
    static final int API_MINOR = 13;

    // ------------------------------------------------------------------------------------------ status codes
    static final int UCS_OK = 0;
    static final int UCS_INPROGRESS = 1;
    static final int UCS_ERR_UNREACHABLE = -6;
    static final int UCS_ERR_BUSY = -15;
    static final int UCS_ERR_LAST = -100;

    // ------------------------------------------------------------------------------------------ ucp_params_t
    static final long PARAM_FIELD_FEATURES = 1L;
    static final long PARAM_FIELD_NAME = 1L << 8;
    static final long FEATURE_RMA = 1L << 1;
    static final long FEATURE_WAKEUP = 1L << 4;
    static final long FEATURE_AM = 1L << 6;
    static final long PARAMS_FEATURES = 8;
    static final long PARAMS_NAME = 72;

    // ------------------------------------------------------------------------------------------ ucp_worker_params_t
    static final long WORKER_PARAM_FIELD_THREAD_MODE = 1L;
    static final long WORKER_PARAMS_THREAD_MODE = 8;
    static final int THREAD_MODE_SINGLE = 0;

    // ------------------------------------------------------------------------------------------ ucp_ep_params_t
    static final long EP_PARAM_FIELD_REMOTE_ADDRESS = 1L;
    static final long EP_PARAM_FIELD_ERR_HANDLING_MODE = 1L << 1;
    static final long EP_PARAM_FIELD_ERR_HANDLER = 1L << 2;
    static final long EP_PARAM_FIELD_NAME = 1L << 7;
    static final long EP_PARAMS_ADDRESS = 8;
    static final long EP_PARAMS_ERR_MODE = 16;
    static final long EP_PARAMS_ERR_HANDLER_CB = 24;
    static final long EP_PARAMS_ERR_HANDLER_ARG = 32;
    static final long EP_PARAMS_NAME = 80;
    static final int ERR_HANDLING_MODE_PEER = 1;

    // ------------------------------------------------------------------------------------------ ucp_mem_map_params_t
    static final long MEM_MAP_PARAM_FIELD_ADDRESS = 1L;
    static final long MEM_MAP_PARAM_FIELD_LENGTH = 1L << 1;
    static final long MEM_MAP_PARAM_FIELD_MEMORY_TYPE = 1L << 4;
    static final long MEM_MAP_PARAMS_ADDRESS = 8;
    static final long MEM_MAP_PARAMS_LENGTH = 16;
    static final long MEM_MAP_PARAMS_MEMORY_TYPE = 32;
    static final int MEMORY_TYPE_HOST = 0;
    static final int MEMORY_TYPE_CUDA = 1;

    // ------------------------------------------------------------------------------------------ ucp_context_attr_t
    static final long ATTR_FIELD_MEMORY_TYPES = 1L << 2;
    static final long CONTEXT_ATTR_MEMORY_TYPES = 24;

    // ------------------------------------------------------------------------------------------ ucp_request_param_t
    static final int OP_ATTR_FIELD_FLAGS = 1 << 4;
    static final int OP_ATTR_FIELD_MEMH = 1 << 8;
    static final long REQUEST_PARAM_OP_ATTR_MASK = 0;
    static final long REQUEST_PARAM_FLAGS = 4;
    static final long REQUEST_PARAM_MEMH = 64;
    static final int AM_SEND_FLAG_EAGER = 1 << 1;
    static final int EP_CLOSE_FLAG_FORCE = 1;

    // ------------------------------------------------------------------------------------------ ucp_am_handler_param_t
    static final long AM_HANDLER_PARAM_FIELD_ID = 1L;
    static final long AM_HANDLER_PARAM_FIELD_FLAGS = 1L << 1;
    static final long AM_HANDLER_PARAM_FIELD_CB = 1L << 2;
    static final long AM_HANDLER_PARAM_FIELD_ARG = 1L << 3;
    static final long AM_HANDLER_PARAMS_ID = 8;
    static final long AM_HANDLER_PARAMS_FLAGS = 12;
    static final long AM_HANDLER_PARAMS_CB = 16;
    static final long AM_HANDLER_PARAMS_ARG = 24;
    static final int AM_FLAG_WHOLE_MSG = 1;
    static final long AM_RECV_ATTR_FLAG_RNDV = 1L << 17;

    /** Size every parameter struct is allocated with (larger than any UCX 1.x version's). */
    static final long STRUCT_BYTES = 512;

    /** The AM receive callback: (arg, header, header_length, data, length, param) → status. */
    static final FunctionDescriptor AM_RECV_CALLBACK = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG,
        ADDRESS, JAVA_LONG, ADDRESS);
    /** The endpoint error callback: (arg, ep, status). */
    static final FunctionDescriptor ERR_HANDLER_CALLBACK = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT);

    private static final String MISSING;
    private static final Linker LINKER = Linker.nativeLinker();
    static final MethodHandle CONFIG_READ;
    static final MethodHandle CONFIG_MODIFY;
    static final MethodHandle CONFIG_RELEASE;
    static final MethodHandle INIT_VERSION;
    static final MethodHandle CLEANUP;
    static final MethodHandle GET_VERSION;
    static final MethodHandle CONTEXT_QUERY;
    static final MethodHandle CONTEXT_PRINT_INFO;
    static final MethodHandle WORKER_CREATE;
    static final MethodHandle WORKER_DESTROY;
    static final MethodHandle WORKER_GET_ADDRESS;
    static final MethodHandle WORKER_RELEASE_ADDRESS;
    static final MethodHandle WORKER_PROGRESS;
    static final MethodHandle WORKER_GET_EFD;
    static final MethodHandle WORKER_ARM;
    static final MethodHandle WORKER_SIGNAL;
    static final MethodHandle WORKER_SET_AM_RECV_HANDLER;
    static final MethodHandle EP_CREATE;
    static final MethodHandle EP_CLOSE_NBX;
    static final MethodHandle EP_FLUSH_NBX;
    static final MethodHandle MEM_MAP;
    static final MethodHandle MEM_UNMAP;
    static final MethodHandle RKEY_PACK;
    static final MethodHandle RKEY_BUFFER_RELEASE;
    static final MethodHandle EP_RKEY_UNPACK;
    static final MethodHandle RKEY_DESTROY;
    static final MethodHandle PUT_NBX;
    static final MethodHandle GET_NBX;
    static final MethodHandle AM_SEND_NBX;
    static final MethodHandle REQUEST_CHECK_STATUS;
    static final MethodHandle REQUEST_FREE;
    static final MethodHandle STATUS_STRING;
    static final MethodHandle POLL;
    static final MethodHandle OPEN_MEMSTREAM;
    static final MethodHandle FCLOSE;
    static final MethodHandle FREE;

    static
    {
        String missing = null;
        SymbolLookup ucp = null;
        SymbolLookup ucs = null;
        try
        {
            // UCX catches SIGSEGV, SIGBUS and friends by default ("error signals") and then kills the process; the
            // JVM raises SIGSEGV on purpose (null checks, safepoints), so UCX must leave those signals to the JVM.
            // libucs reads this when it is loaded, so it is set before the first lookup, for this process.
            final MethodHandle setenv = LINKER.downcallHandle(LINKER.defaultLookup().find("setenv").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            try (Arena arena = Arena.ofConfined())
            {
                final int ignore = (int)setenv.invokeExact(arena.allocateFrom("UCX_ERROR_SIGNALS"),
                    arena.allocateFrom(""), 1);
            }
            ucp = SymbolLookup.libraryLookup("libucp.so.0", Arena.global());
            ucs = SymbolLookup.libraryLookup("libucs.so.0", Arena.global());
        }
        catch (final Throwable ex)
        {
            missing = "UCX is not installed (libucp.so.0 not found: " + ex.getMessage() + "); install it, e.g. " +
                "'apt-get install libucx0' on Debian and Ubuntu";
        }
        final SymbolLookup libc = LINKER.defaultLookup();
        MethodHandle[] h = new MethodHandle[37];
        if (null == missing)
        {
            try
            {
                int i = 0;
                h[i++] = bind(ucp, "ucp_config_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_config_modify", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_config_release", FunctionDescriptor.ofVoid(ADDRESS));
                h[i++] = bind(ucp, "ucp_init_version", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                    ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_cleanup", FunctionDescriptor.ofVoid(ADDRESS));
                h[i++] = bind(ucp, "ucp_get_version", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_context_query", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_context_print_info", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_destroy", FunctionDescriptor.ofVoid(ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_get_address", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                    ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_release_address", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_progress", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_get_efd", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_arm", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_signal", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                h[i++] = bind(ucp, "ucp_worker_set_am_recv_handler", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                    ADDRESS));
                h[i++] = bind(ucp, "ucp_ep_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_ep_close_nbx", FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_ep_flush_nbx", FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_mem_map", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_mem_unmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_rkey_pack", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS));
                h[i++] = bind(ucp, "ucp_rkey_buffer_release", FunctionDescriptor.ofVoid(ADDRESS));
                h[i++] = bind(ucp, "ucp_ep_rkey_unpack", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_rkey_destroy", FunctionDescriptor.ofVoid(ADDRESS));
                // buffers and returned status pointers as 64-bit integers (same registers in the LP64 ABIs), so
                // that the data path makes no segment per span
                h[i++] = bind(ucp, "ucp_put_nbx", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_get_nbx", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, ADDRESS, ADDRESS));
                h[i++] = bind(ucp, "ucp_am_send_nbx", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS,
                    JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
                h[i++] = bind(ucp, "ucp_request_check_status", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
                h[i++] = bind(ucp, "ucp_request_free", FunctionDescriptor.ofVoid(JAVA_LONG));
                h[i++] = bind(ucs, "ucs_status_string", FunctionDescriptor.of(ADDRESS, JAVA_INT));
                h[i++] = bind(libc, "poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
                h[i++] = bind(libc, "open_memstream", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
                h[i++] = bind(libc, "fclose", FunctionDescriptor.of(JAVA_INT, ADDRESS));
                h[i++] = bind(libc, "free", FunctionDescriptor.ofVoid(ADDRESS));
            }
            catch (final RuntimeException ex)
            {
                missing = "the UCX on this host lacks a function ferry needs (" + ex.getMessage() + "); UCX " +
                    API_MAJOR + "." + API_MINOR + " or newer is needed";
                h = new MethodHandle[37];
            }
        }
        if (null == missing)
        {
            final int[] v = version(h[5]);
            if (v[0] != API_MAJOR || v[1] < 10)
            {
                missing = "UCX " + v[0] + "." + v[1] + "." + v[2] + " is installed; ferry needs UCX 1.10 or newer " +
                    "(bound against the 1." + API_MINOR + " API)";
            }
        }
        MISSING = missing;
        int i = 0;
        CONFIG_READ = h[i++];
        CONFIG_MODIFY = h[i++];
        CONFIG_RELEASE = h[i++];
        INIT_VERSION = h[i++];
        CLEANUP = h[i++];
        GET_VERSION = h[i++];
        CONTEXT_QUERY = h[i++];
        CONTEXT_PRINT_INFO = h[i++];
        WORKER_CREATE = h[i++];
        WORKER_DESTROY = h[i++];
        WORKER_GET_ADDRESS = h[i++];
        WORKER_RELEASE_ADDRESS = h[i++];
        WORKER_PROGRESS = h[i++];
        WORKER_GET_EFD = h[i++];
        WORKER_ARM = h[i++];
        WORKER_SIGNAL = h[i++];
        WORKER_SET_AM_RECV_HANDLER = h[i++];
        EP_CREATE = h[i++];
        EP_CLOSE_NBX = h[i++];
        EP_FLUSH_NBX = h[i++];
        MEM_MAP = h[i++];
        MEM_UNMAP = h[i++];
        RKEY_PACK = h[i++];
        RKEY_BUFFER_RELEASE = h[i++];
        EP_RKEY_UNPACK = h[i++];
        RKEY_DESTROY = h[i++];
        PUT_NBX = h[i++];
        GET_NBX = h[i++];
        AM_SEND_NBX = h[i++];
        REQUEST_CHECK_STATUS = h[i++];
        REQUEST_FREE = h[i++];
        STATUS_STRING = h[i++];
        POLL = h[i++];
        OPEN_MEMSTREAM = h[i++];
        FCLOSE = h[i++];
        FREE = h[i++];
    }

    private Ucp()
    {
    }

    private static MethodHandle bind(final SymbolLookup lookup, final String name, final FunctionDescriptor desc)
    {
        return LINKER.downcallHandle(lookup.find(name).orElseThrow(() -> new IllegalStateException(name)), desc);
    }

    /** @return why UCX cannot be used here, or null when it can. */
    static String unavailableReason()
    {
        return MISSING;
    }

    private static int[] version(final MethodHandle getVersion)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment v = arena.allocate(12);
            getVersion.invokeExact(v, v.asSlice(4), v.asSlice(8));
            return new int[] {v.get(JAVA_INT, 0), v.get(JAVA_INT, 4), v.get(JAVA_INT, 8)};
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** @return the installed UCX's version, e.g. "1.13.1". */
    static String version()
    {
        final int[] v = version(GET_VERSION);
        return v[0] + "." + v[1] + "." + v[2];
    }

    /** @return UCX's name of a status, e.g. "Endpoint timeout" for -80, with the code. */
    static String statusString(final int status)
    {
        try
        {
            final MemorySegment s = (MemorySegment)STATUS_STRING.invokeExact(status);
            return (MemorySegment.NULL.equals(s) ? "status" : s.reinterpret(256).getString(0)) + " (UCS " + status +
                ")";
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /** @return whether a {@code ucs_status_ptr_t} is an error code rather than a request or NULL. */
    static boolean isError(final long statusPtr)
    {
        return statusPtr < 0 && statusPtr >= UCS_ERR_LAST;
    }

    /** @return the status a {@code ucs_status_ptr_t} carries: OK for NULL, the error, or INPROGRESS for a request. */
    static int status(final long statusPtr)
    {
        if (0 == statusPtr)
        {
            return UCS_OK;
        }
        return isError(statusPtr) ? (int)statusPtr : UCS_INPROGRESS;
    }

    /** @return a zeroed parameter struct. */
    static MemorySegment struct(final Arena arena)
    {
        return arena.allocate(STRUCT_BYTES, 16);
    }

    static RuntimeException rethrow(final Throwable t)
    {
        if (t instanceof RuntimeException r)
        {
            return r;
        }
        if (t instanceof Error e)
        {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** @return an upcall stub calling {@code target} (see {@link #virtual}), alive as long as {@code arena}. */
    static MemorySegment upcall(final MethodHandle target, final FunctionDescriptor desc, final Arena arena)
    {
        return LINKER.upcallStub(target, desc, arena);
    }

    static MethodHandle virtual(final MethodHandles.Lookup lookup, final String name, final MethodType type,
        final Object receiver)
    {
        try
        {
            return lookup.findVirtual(lookup.lookupClass(), name, type).bindTo(receiver);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
