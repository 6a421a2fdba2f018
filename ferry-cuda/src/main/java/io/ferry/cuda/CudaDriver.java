package io.ferry.cuda;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API calls ferry needs, bound through FFM to {@code libcuda.so.1} (no JNI, no CUDA toolkit: the
 * driver library the NVIDIA driver installs). Sizes are 64-bit, so the {@code _v2} symbols are used wherever the
 * unversioned ones take 32-bit sizes. Every call checks its {@code CUresult} and turns an error into a
 * {@link FerryException} naming the call and the result ({@code CUDA_ERROR_INVALID_VALUE (1)}).
 * <p>
 * {@link #load()} binds lazily, once per JVM; {@link #load(String)} binds another library (tests of the error
 * paths). A missing library or symbol is a NOT_SUPPORTED exception saying which.
 */
public final class CudaDriver
{
    /** {@code CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL}. */
    static final int POINTER_DEVICE_ORDINAL = 9;
    /** {@code CU_POINTER_ATTRIBUTE_MEMORY_TYPE}. */
    static final int POINTER_MEMORY_TYPE = 2;
    /** {@code CU_MEMORYTYPE_DEVICE}. */
    static final int MEMORYTYPE_DEVICE = 2;
    /** {@code CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS}. */
    static final int IPC_LAZY_ENABLE_PEER_ACCESS = 1;
    /** {@code CU_STREAM_NON_BLOCKING}. */
    static final int STREAM_NON_BLOCKING = 1;
    /** {@code CU_EVENT_DISABLE_TIMING}. */
    static final int EVENT_DISABLE_TIMING = 2;
    /** {@code CUDA_SUCCESS}. */
    static final int SUCCESS = 0;
    /** {@code CUDA_ERROR_NOT_READY}. */
    static final int NOT_READY = 600;
    /** {@code CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED}. */
    static final int PEER_ACCESS_ALREADY_ENABLED = 704;
    /** Bytes of a {@code CUipcMemHandle}. */
    public static final int IPC_HANDLE_BYTES = 64;

    private static final MemoryLayout IPC_HANDLE = MemoryLayout.structLayout(
        MemoryLayout.sequenceLayout(IPC_HANDLE_BYTES, JAVA_BYTE));
    private static volatile Object loaded;

    private final String library;
    private final MethodHandle cuInit;
    private final MethodHandle cuDriverGetVersion;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuDevicePrimaryCtxRelease;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuMemAlloc;
    private final MethodHandle cuMemFree;
    private final MethodHandle cuMemHostRegister;
    private final MethodHandle cuMemHostUnregister;
    private final MethodHandle cuMemcpyAsync;
    private final MethodHandle cuMemcpy;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventQuery;
    private final MethodHandle cuEventSynchronize;
    private final MethodHandle cuEventDestroy;
    private final MethodHandle cuGetErrorName;
    private final MethodHandle cuPointerGetAttribute;
    private final MethodHandle cuMemGetAddressRange;
    private final MethodHandle cuIpcGetMemHandle;
    private final MethodHandle cuIpcOpenMemHandle;
    private final MethodHandle cuIpcCloseMemHandle;
    private final MethodHandle cuDeviceCanAccessPeer;
    private final MethodHandle cuCtxEnablePeerAccess;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuModuleLoadData;
    private final MethodHandle cuModuleGetFunction;
    private final MethodHandle cuModuleUnload;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuMemcpyHtoDAsync;
    /** {@code cuMemcpyBatchAsync_v2} (CUDA 13 drivers), or null where the driver has none. */
    private final MethodHandle cuMemcpyBatchAsync;

    @SuppressWarnings("restricted")
    private CudaDriver(final String library)
    {
        this.library = library;
        final SymbolLookup lookup;
        try
        {
            lookup = SymbolLookup.libraryLookup(library, Arena.global());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "cannot load the CUDA driver library " + library +
                " (no NVIDIA driver on this host?): " + ex.getMessage());
        }
        final Linker linker = Linker.nativeLinker();
        final Binder b = (name, desc) -> linker.downcallHandle(lookup.find(name).orElseThrow(() ->
            new FerryException(ErrorCode.NOT_SUPPORTED, "the CUDA driver library " + library + " has no symbol " +
                name + " (driver too old, or not the CUDA driver)")), desc);
        final FunctionDescriptor iI = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        final FunctionDescriptor iP = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        final FunctionDescriptor iL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
        cuInit = b.bind("cuInit", iI);
        cuDriverGetVersion = b.bind("cuDriverGetVersion", iP);
        cuDeviceGetCount = b.bind("cuDeviceGetCount", iP);
        cuDeviceGet = b.bind("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetName = b.bind("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDevicePrimaryCtxRetain = b.bind("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS,
            JAVA_INT));
        cuDevicePrimaryCtxRelease = b.bind("cuDevicePrimaryCtxRelease_v2", iI);
        cuCtxSetCurrent = b.bind("cuCtxSetCurrent", iP);
        cuMemAlloc = b.bind("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        cuMemFree = b.bind("cuMemFree_v2", iL);
        cuMemHostRegister = b.bind("cuMemHostRegister_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG,
            JAVA_INT));
        cuMemHostUnregister = b.bind("cuMemHostUnregister", iL);
        cuMemcpyAsync = b.bind("cuMemcpyAsync", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG,
            ADDRESS));
        cuMemcpy = b.bind("cuMemcpy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuStreamCreate = b.bind("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamDestroy = b.bind("cuStreamDestroy_v2", iP);
        cuStreamSynchronize = b.bind("cuStreamSynchronize", iP);
        cuEventCreate = b.bind("cuEventCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuEventRecord = b.bind("cuEventRecord", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuEventQuery = b.bind("cuEventQuery", iP);
        cuEventSynchronize = b.bind("cuEventSynchronize", iP);
        cuEventDestroy = b.bind("cuEventDestroy_v2", iP);
        cuGetErrorName = b.bind("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuPointerGetAttribute = b.bind("cuPointerGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
            JAVA_LONG));
        cuMemGetAddressRange = b.bind("cuMemGetAddressRange_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
            JAVA_LONG));
        cuIpcGetMemHandle = b.bind("cuIpcGetMemHandle", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        cuIpcOpenMemHandle = b.bind("cuIpcOpenMemHandle_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, IPC_HANDLE,
            JAVA_INT));
        cuIpcCloseMemHandle = b.bind("cuIpcCloseMemHandle", iL);
        cuDeviceCanAccessPeer = b.bind("cuDeviceCanAccessPeer", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
            JAVA_INT));
        cuCtxEnablePeerAccess = b.bind("cuCtxEnablePeerAccess", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetAttribute = b.bind("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
            JAVA_INT));
        cuModuleLoadData = b.bind("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuModuleGetFunction = b.bind("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
            ADDRESS));
        cuModuleUnload = b.bind("cuModuleUnload", iP);
        // CUresult cuLaunchKernel(CUfunction f, unsigned gridX, gridY, gridZ, blockX, blockY, blockZ,
        //     unsigned sharedMemBytes, CUstream hStream, void** kernelParams, void** extra)
        cuLaunchKernel = b.bind("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuMemcpyHtoDAsync = b.bind("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG,
            JAVA_LONG, ADDRESS));
        // optional: CUresult cuMemcpyBatchAsync_v2(CUdeviceptr* dsts, CUdeviceptr* srcs, size_t* sizes, size_t count,
        //     CUmemcpyAttributes* attrs, size_t* attrsIdxs, size_t numAttrs, CUstream hStream)
        cuMemcpyBatchAsync = lookup.find("cuMemcpyBatchAsync_v2").map(a -> linker.downcallHandle(a,
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG,
            ADDRESS))).orElse(null);
    }

    @FunctionalInterface
    private interface Binder
    {
        MethodHandle bind(String name, FunctionDescriptor desc);
    }

    /**
     * Binds and initialises the driver ({@code cuInit}) once per JVM; the library is {@code libcuda.so.1} unless
     * the system property {@code ferry.cuda.library} names another.
     *
     * @return the driver.
     * @throws FerryException NOT_SUPPORTED naming why there is no usable driver (library, symbol, cuInit's error).
     */
    public static CudaDriver load()
    {
        Object l = loaded;
        if (null == l)
        {
            synchronized (CudaDriver.class)
            {
                l = loaded;
                if (null == l)
                {
                    try
                    {
                        final CudaDriver d = load(System.getProperty("ferry.cuda.library", "libcuda.so.1"));
                        d.init();
                        l = d;
                    }
                    catch (final FerryException ex)
                    {
                        l = new FerryException(ErrorCode.NOT_SUPPORTED, ex.getMessage(), ex);
                    }
                    loaded = l;
                }
            }
        }
        if (l instanceof FerryException ex)
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, ex.getMessage(), ex);
        }
        return (CudaDriver)l;
    }

    /**
     * Binds a driver library without initialising it.
     *
     * @param library a library name or path.
     * @return the bound driver.
     * @throws FerryException NOT_SUPPORTED when the library or one of the symbols is missing.
     */
    public static CudaDriver load(final String library)
    {
        return new CudaDriver(library);
    }

    /**
     * @return the library bound.
     */
    public String library()
    {
        return library;
    }

    // ------------------------------------------------------------------------------------------ errors

    /**
     * @param result a CUresult.
     * @return its name, e.g. {@code CUDA_ERROR_INVALID_VALUE}.
     */
    @SuppressWarnings("restricted")
    public String errorName(final int result)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment p = a.allocate(ADDRESS);
            final int r = (int)cuGetErrorName.invokeExact(result, p);
            if (SUCCESS != r)
            {
                return "CUresult " + result;
            }
            return p.get(ADDRESS, 0).reinterpret(128).getString(0);
        }
        catch (final Throwable t)
        {
            return "CUresult " + result;
        }
    }

    void check(final int result, final String call)
    {
        if (SUCCESS != result)
        {
            throw error(result, call);
        }
    }

    FerryException error(final int result, final String call)
    {
        return new CudaException(result, errorName(result), call);
    }

    private static FerryException wrap(final Throwable t, final String call)
    {
        if (t instanceof FerryException fe)
        {
            return fe;
        }
        return new FerryException(ErrorCode.BACKEND, call + " could not be called: " + t, t);
    }

    // ------------------------------------------------------------------------------------------ calls

    void init()
    {
        try
        {
            check((int)cuInit.invokeExact(0), "cuInit");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuInit");
        }
    }

    /**
     * @return the driver's CUDA version, e.g. 12040 for 12.4.
     */
    public int driverVersion()
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(JAVA_INT);
            check((int)cuDriverGetVersion.invokeExact(v), "cuDriverGetVersion");
            return v.get(JAVA_INT, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDriverGetVersion");
        }
    }

    /**
     * @return how many CUDA devices there are.
     */
    public int deviceCount()
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(JAVA_INT);
            check((int)cuDeviceGetCount.invokeExact(v), "cuDeviceGetCount");
            return v.get(JAVA_INT, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDeviceGetCount");
        }
    }

    /**
     * @param ordinal a device ordinal.
     * @return its name, e.g. "NVIDIA H200".
     */
    public String deviceName(final int ordinal)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment name = a.allocate(256);
            check((int)cuDeviceGetName.invokeExact(name, 256, device(ordinal)), "cuDeviceGetName");
            return name.getString(0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDeviceGetName");
        }
    }

    int device(final int ordinal)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(JAVA_INT);
            check((int)cuDeviceGet.invokeExact(v, ordinal), "cuDeviceGet(" + ordinal + ")");
            return v.get(JAVA_INT, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDeviceGet");
        }
    }

    MemorySegment primaryContextRetain(final int ordinal)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(ADDRESS);
            check((int)cuDevicePrimaryCtxRetain.invokeExact(v, device(ordinal)), "cuDevicePrimaryCtxRetain(" +
                ordinal + ")");
            return v.get(ADDRESS, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDevicePrimaryCtxRetain");
        }
    }

    void primaryContextRelease(final int ordinal)
    {
        try
        {
            check((int)cuDevicePrimaryCtxRelease.invokeExact(device(ordinal)), "cuDevicePrimaryCtxRelease");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDevicePrimaryCtxRelease");
        }
    }

    void setCurrent(final MemorySegment context)
    {
        try
        {
            check((int)cuCtxSetCurrent.invokeExact(context), "cuCtxSetCurrent");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuCtxSetCurrent");
        }
    }

    long memAlloc(final long bytes)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(JAVA_LONG);
            check((int)cuMemAlloc.invokeExact(v, bytes), "cuMemAlloc_v2(" + bytes + " B)");
            return v.get(JAVA_LONG, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemAlloc_v2");
        }
    }

    void memFree(final long pointer)
    {
        try
        {
            check((int)cuMemFree.invokeExact(pointer), "cuMemFree_v2");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemFree_v2");
        }
    }

    /**
     * Pins host memory for every context and maps it into the devices' address space (PORTABLE | DEVICEMAP), so that
     * the copy kernel can reach it; a second registration of the same range fails.
     */
    void hostRegister(final long address, final long bytes)
    {
        try
        {
            check((int)cuMemHostRegister.invokeExact(address, bytes, 3 /* PORTABLE | DEVICEMAP */),
                "cuMemHostRegister_v2(0x" + Long.toHexString(address) + ", " + bytes + " B)");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemHostRegister_v2");
        }
    }

    void hostUnregister(final long address)
    {
        try
        {
            check((int)cuMemHostUnregister.invokeExact(address), "cuMemHostUnregister");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemHostUnregister");
        }
    }

    void memcpyAsync(final long dst, final long src, final long bytes, final MemorySegment stream)
    {
        try
        {
            final int r = (int)cuMemcpyAsync.invokeExact(dst, src, bytes, stream);
            if (SUCCESS != r)
            {
                throw error(r, "cuMemcpyAsync(0x" + Long.toHexString(dst) + " <- 0x" + Long.toHexString(src) + ", " +
                    bytes + " B)");
            }
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemcpyAsync");
        }
    }

    /** Bytes of a {@code CUmemcpyAttributes}: access order, source and destination location hints, flags. */
    static final int MEMCPY_ATTRIBUTES_BYTES = 24;

    /**
     * @return true when the driver can queue many copies in one call ({@code cuMemcpyBatchAsync_v2}).
     */
    boolean hasBatchCopies()
    {
        return null != cuMemcpyBatchAsync;
    }

    /**
     * Queues {@code count} copies in one call.
     *
     * @param dsts   native array of destination addresses.
     * @param srcs   native array of source addresses.
     * @param sizes  native array of sizes.
     * @param count  copies.
     * @param attrs  one {@code CUmemcpyAttributes} for all of them.
     * @param attrIndex a native size_t 0 (the attributes apply from the first copy on).
     * @param stream the stream.
     * @return the CUresult (0 on success): the caller falls back to single copies on an error.
     */
    int memcpyBatchAsync(final MemorySegment dsts, final MemorySegment srcs, final MemorySegment sizes,
        final long count, final MemorySegment attrs, final MemorySegment attrIndex, final MemorySegment stream)
    {
        try
        {
            return (int)cuMemcpyBatchAsync.invokeExact(dsts, srcs, sizes, count, attrs, attrIndex, 1L, stream);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemcpyBatchAsync_v2");
        }
    }

    void memcpy(final long dst, final long src, final long bytes)
    {
        try
        {
            check((int)cuMemcpy.invokeExact(dst, src, bytes), "cuMemcpy(" + bytes + " B)");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemcpy");
        }
    }

    MemorySegment streamCreate()
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(ADDRESS);
            check((int)cuStreamCreate.invokeExact(v, STREAM_NON_BLOCKING), "cuStreamCreate");
            return v.get(ADDRESS, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuStreamCreate");
        }
    }

    void streamDestroy(final MemorySegment stream)
    {
        try
        {
            check((int)cuStreamDestroy.invokeExact(stream), "cuStreamDestroy_v2");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuStreamDestroy_v2");
        }
    }

    void streamSynchronize(final MemorySegment stream)
    {
        try
        {
            check((int)cuStreamSynchronize.invokeExact(stream), "cuStreamSynchronize");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuStreamSynchronize");
        }
    }

    MemorySegment eventCreate()
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(ADDRESS);
            check((int)cuEventCreate.invokeExact(v, EVENT_DISABLE_TIMING), "cuEventCreate");
            return v.get(ADDRESS, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuEventCreate");
        }
    }

    void eventRecord(final MemorySegment event, final MemorySegment stream)
    {
        try
        {
            check((int)cuEventRecord.invokeExact(event, stream), "cuEventRecord");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuEventRecord");
        }
    }

    /** @return true when the event's work finished, false while it runs. */
    boolean eventDone(final MemorySegment event)
    {
        final int r;
        try
        {
            r = (int)cuEventQuery.invokeExact(event);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuEventQuery");
        }
        if (NOT_READY == r)
        {
            return false;
        }
        check(r, "cuEventQuery");
        return true;
    }

    void eventSynchronize(final MemorySegment event)
    {
        try
        {
            check((int)cuEventSynchronize.invokeExact(event), "cuEventSynchronize");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuEventSynchronize");
        }
    }

    void eventDestroy(final MemorySegment event)
    {
        try
        {
            check((int)cuEventDestroy.invokeExact(event), "cuEventDestroy_v2");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuEventDestroy_v2");
        }
    }

    /**
     * @param pointer a device pointer.
     * @return the ordinal of the device it lives on, or -1 when it is not device memory the driver knows.
     */
    int pointerDevice(final long pointer)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment type = a.allocate(JAVA_INT);
            if (SUCCESS != (int)cuPointerGetAttribute.invokeExact(type, POINTER_MEMORY_TYPE, pointer) ||
                MEMORYTYPE_DEVICE != type.get(JAVA_INT, 0))
            {
                return -1;
            }
            final MemorySegment v = a.allocate(JAVA_INT);
            final int r = (int)cuPointerGetAttribute.invokeExact(v, POINTER_DEVICE_ORDINAL, pointer);
            return SUCCESS == r ? v.get(JAVA_INT, 0) : -1;
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuPointerGetAttribute");
        }
    }

    /**
     * @param pointer a device pointer.
     * @return {base, size} of the allocation holding it, or null when no live allocation does.
     */
    long[] addressRange(final long pointer)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment base = a.allocate(JAVA_LONG);
            final MemorySegment size = a.allocate(JAVA_LONG);
            final int r = (int)cuMemGetAddressRange.invokeExact(base, size, pointer);
            return SUCCESS == r ? new long[] {base.get(JAVA_LONG, 0), size.get(JAVA_LONG, 0)} : null;
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemGetAddressRange_v2");
        }
    }

    byte[] ipcGetMemHandle(final long base)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment h = a.allocate(IPC_HANDLE);
            check((int)cuIpcGetMemHandle.invokeExact(h, base), "cuIpcGetMemHandle(0x" + Long.toHexString(base) + ")");
            return h.toArray(JAVA_BYTE);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuIpcGetMemHandle");
        }
    }

    long ipcOpenMemHandle(final byte[] handle)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment h = a.allocate(IPC_HANDLE);
            MemorySegment.copy(handle, 0, h, JAVA_BYTE, 0, IPC_HANDLE_BYTES);
            final MemorySegment v = a.allocate(JAVA_LONG);
            check((int)cuIpcOpenMemHandle.invokeExact(v, h, IPC_LAZY_ENABLE_PEER_ACCESS), "cuIpcOpenMemHandle_v2");
            return v.get(JAVA_LONG, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuIpcOpenMemHandle_v2");
        }
    }

    void ipcCloseMemHandle(final long mapped)
    {
        try
        {
            check((int)cuIpcCloseMemHandle.invokeExact(mapped), "cuIpcCloseMemHandle");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuIpcCloseMemHandle");
        }
    }

    boolean canAccessPeer(final int ordinal, final int peerOrdinal)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(JAVA_INT);
            check((int)cuDeviceCanAccessPeer.invokeExact(v, device(ordinal), device(peerOrdinal)),
                "cuDeviceCanAccessPeer");
            return 0 != v.get(JAVA_INT, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDeviceCanAccessPeer");
        }
    }

    /** Lets the current context reach {@code peerContext}'s memory; already enabled is fine. */
    void enablePeerAccess(final MemorySegment peerContext)
    {
        try
        {
            final int r = (int)cuCtxEnablePeerAccess.invokeExact(peerContext, 0);
            if (SUCCESS != r && PEER_ACCESS_ALREADY_ENABLED != r)
            {
                throw error(r, "cuCtxEnablePeerAccess");
            }
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuCtxEnablePeerAccess");
        }
    }


    // ------------------------------------------------------------------------------------------ kernels

    /** {@code CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM}. */
    static final int ATTRIBUTE_HOST_POINTER_FOR_REGISTERED_MEM = 91;
    /** {@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT}. */
    static final int ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;

    /**
     * @param attribute a {@code CUdevice_attribute}.
     * @param ordinal   a device ordinal.
     * @return its value.
     */
    int deviceAttribute(final int attribute, final int ordinal)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(JAVA_INT);
            check((int)cuDeviceGetAttribute.invokeExact(v, attribute, device(ordinal)), "cuDeviceGetAttribute(" +
                attribute + ", cuda:" + ordinal + ")");
            return v.get(JAVA_INT, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuDeviceGetAttribute");
        }
    }

    /**
     * Loads a module into the current context; the driver compiles PTX text for the device.
     *
     * @param image the module's text, NUL-terminated.
     * @return the module.
     */
    MemorySegment moduleLoadData(final MemorySegment image)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(ADDRESS);
            check((int)cuModuleLoadData.invokeExact(v, image), "cuModuleLoadData");
            return v.get(ADDRESS, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuModuleLoadData");
        }
    }

    MemorySegment moduleGetFunction(final MemorySegment module, final String name)
    {
        try (Arena a = Arena.ofConfined())
        {
            final MemorySegment v = a.allocate(ADDRESS);
            check((int)cuModuleGetFunction.invokeExact(v, module, a.allocateFrom(name)), "cuModuleGetFunction(" +
                name + ")");
            return v.get(ADDRESS, 0);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuModuleGetFunction");
        }
    }

    void moduleUnload(final MemorySegment module)
    {
        try
        {
            check((int)cuModuleUnload.invokeExact(module), "cuModuleUnload");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuModuleUnload");
        }
    }

    /**
     * Queues a one-dimensional launch.
     *
     * @return the CUresult (0 on success): the caller decides what a refused launch means.
     */
    int launchKernel(final MemorySegment function, final int grid, final int block, final MemorySegment stream,
        final MemorySegment params)
    {
        try
        {
            return (int)cuLaunchKernel.invokeExact(function, grid, 1, 1, block, 1, 1, 0, stream, params,
                MemorySegment.NULL);
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuLaunchKernel");
        }
    }

    void memcpyHtoDAsync(final long dst, final long src, final long bytes, final MemorySegment stream)
    {
        try
        {
            check((int)cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream), "cuMemcpyHtoDAsync_v2(" + bytes +
                " B)");
        }
        catch (final Throwable t)
        {
            throw wrap(t, "cuMemcpyHtoDAsync_v2");
        }
    }
}
