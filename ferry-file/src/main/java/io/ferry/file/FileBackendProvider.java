package io.ferry.file;

import io.ferry.MemoryKind;
import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;

import java.util.Map;
import java.util.Set;

/**
 * Creates FILE backends: an agent's own files as the target of READs (file to memory) and WRITEs (memory to file).
 */
public final class FileBackendProvider implements BackendProvider
{
    /** The backend's name. */
    public static final String NAME = "FILE";

    /**
     * {@inheritDoc}
     */
    public String name()
    {
        return NAME;
    }

    /**
     * {@inheritDoc}
     */
    public int preference()
    {
        return 30;
    }

    /**
     * {@inheritDoc}
     */
    public Set<MemoryKind> memoryKinds()
    {
        return null == io.ferry.spi.DeviceMemory.find(MemoryKind.VRAM) ? Set.of(MemoryKind.DRAM, MemoryKind.FILE) :
            Set.of(MemoryKind.DRAM, MemoryKind.FILE, MemoryKind.VRAM);
    }

    /**
     * {@inheritDoc}
     */
    public Map<String, String> defaultParams()
    {
        return FileConfig.defaults();
    }

    /**
     * {@inheritDoc}
     */
    public String unavailableReason()
    {
        return FileCalls.unavailableReason();
    }

    /**
     * {@inheritDoc}
     */
    public String limitations()
    {
        final String refused = FileBackend.uringRefusal();
        return null == refused ? null : refused + ": FILE runs on POSIX pread/pwrite threads";
    }

    /**
     * {@inheritDoc}
     */
    public Backend create(final BackendContext context, final Map<String, String> params)
    {
        return new FileBackend(context, FileConfig.parse(params));
    }
}
