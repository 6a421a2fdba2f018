package io.ferry.cuda;

import java.util.HexFormat;
import java.util.HashMap;
import java.util.Map;

/**
 * Peers' allocations opened with {@code cuIpcOpenMemHandle}, one mapping per allocation and local device however
 * many regions of it are loaded (the driver refuses to open the same handle twice in a context), closed when the
 * last user goes.
 */
final class IpcMappings
{
    private final CudaDriver driver;
    private final Contexts contexts;
    private final Map<String, Mapping> byHandle = new HashMap<>();  // key: device + handle

    /** One opened allocation. */
    static final class Mapping
    {
        final String key;
        final long base;
        final int device;
        int users;

        Mapping(final String key, final long base, final int device)
        {
            this.key = key;
            this.base = base;
            this.device = device;
        }
    }

    IpcMappings(final CudaDriver driver, final Contexts contexts)
    {
        this.driver = driver;
        this.contexts = contexts;
    }

    synchronized Mapping open(final byte[] handle, final int device)
    {
        final String key = device + ":" + HexFormat.of().formatHex(handle);
        Mapping m = byHandle.get(key);
        if (null == m)
        {
            contexts.makeCurrent(device);
            m = new Mapping(key, driver.ipcOpenMemHandle(handle), device);
            byHandle.put(key, m);
        }
        m.users++;
        return m;
    }

    synchronized void release(final Mapping m)
    {
        if (--m.users == 0 && byHandle.remove(m.key, m))
        {
            contexts.makeCurrent(m.device);
            driver.ipcCloseMemHandle(m.base);
        }
    }

    synchronized void closeAll()
    {
        for (final Mapping m : byHandle.values())
        {
            try
            {
                contexts.makeCurrent(m.device);
                driver.ipcCloseMemHandle(m.base);
            }
            catch (final RuntimeException ex)
            {
                // closing anyway
            }
        }
        byHandle.clear();
    }
}
