package io.ferry;

import io.ferry.spi.Backend;
import io.ferry.spi.BackendContext;
import io.ferry.spi.BackendProvider;
import io.ferry.spi.BackendRequest;
import io.ferry.spi.MemoryHandle;
import io.ferry.spi.RegionSpec;
import io.ferry.spi.RemoteRegionSpec;
import io.ferry.spi.ResolvedDescs;
import io.ferry.spi.TransferSink;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A backend for testing the agent's side of the SPI: it keeps what it is given and fails where a test tells it to
 * ({@code fail_register_at}: the n-th register call, 1-based; {@code fail_connection_info}: loading a peer's
 * connection info), so that the agent's rollback paths can be checked. Available only while a test has set the
 * system property {@code ferry.test.fake} (so that agents with every available backend do not get it).
 */
public final class FakeBackend implements Backend
{
    /** The backend's name. */
    public static final String NAME = "FAKE";

    /** Every live fake backend's registered handles and known peers, for the tests to inspect. */
    final Set<MemoryHandle> registered = ConcurrentHashMap.newKeySet();
    final Set<String> peers = ConcurrentHashMap.newKeySet();
    private final int failRegisterAt;
    private final boolean failConnectionInfo;
    private int registerCalls;

    FakeBackend(final Map<String, String> params)
    {
        failRegisterAt = Integer.parseInt(params.get("fail_register_at"));
        failConnectionInfo = Boolean.parseBoolean(params.get("fail_connection_info"));
    }

    /** The provider (ServiceLoader, test class path only). */
    public static final class Provider implements BackendProvider
    {
        /** The last backend made, for the tests. */
        static volatile FakeBackend last;

        public String name()
        {
            return NAME;
        }

        public Set<MemoryKind> memoryKinds()
        {
            return Set.of(MemoryKind.DRAM);
        }

        public Map<String, String> defaultParams()
        {
            return Map.of("fail_register_at", "0", "fail_connection_info", "false");
        }

        public String unavailableReason()
        {
            return null == System.getProperty("ferry.test.fake") ? "a test backend, off unless a test turns it on" :
                null;
        }

        public Backend create(final BackendContext context, final Map<String, String> params)
        {
            final FakeBackend b = new FakeBackend(params);
            last = b;
            return b;
        }
    }

    public String name()
    {
        return NAME;
    }

    public Set<MemoryKind> memoryKinds()
    {
        return Set.of(MemoryKind.DRAM);
    }

    public boolean supportsRemote()
    {
        return true;
    }

    public boolean supportsLocal()
    {
        return false;
    }

    public boolean supportsNotifications()
    {
        return true;
    }

    public synchronized MemoryHandle register(final RegionSpec region)
    {
        if (++registerCalls == failRegisterAt)
        {
            throw new FerryException(ErrorCode.BACKEND, "FAKE refuses register call " + registerCalls);
        }
        final MemoryHandle h = new MemoryHandle()
        {
        };
        registered.add(h);
        return h;
    }

    public void deregister(final MemoryHandle handle)
    {
        registered.remove(handle);
    }

    public byte[] connectionInfo()
    {
        return "fake".getBytes(StandardCharsets.US_ASCII);
    }

    public boolean loadRemoteConnectionInfo(final String peer, final byte[] info)
    {
        if (failConnectionInfo)
        {
            throw new FerryException(ErrorCode.BACKEND, "FAKE refuses the connection info of " + peer);
        }
        peers.add(peer);
        return true;
    }

    public byte[] publicData(final MemoryHandle handle)
    {
        return new byte[0];
    }

    public MemoryHandle loadRemoteRegion(final RemoteRegionSpec region)
    {
        return new MemoryHandle()
        {
        };
    }

    public MemoryHandle loadLocalRegion(final MemoryHandle handle)
    {
        throw new FerryException(ErrorCode.NOT_SUPPORTED, "FAKE serves no local transfers");
    }

    public void connect(final String peer)
    {
    }

    public void disconnect(final String peer)
    {
        peers.remove(peer);
    }

    public BackendRequest prepare(final TransferOp op, final ResolvedDescs local, final ResolvedDescs remote,
        final String peer, final TransferSink sink)
    {
        throw new FerryException(ErrorCode.NOT_SUPPORTED, "FAKE moves no bytes");
    }

    public void post(final BackendRequest request, final byte[] notification)
    {
        throw new FerryException(ErrorCode.NOT_SUPPORTED, "FAKE moves no bytes");
    }

    public boolean abort(final BackendRequest request)
    {
        return true;
    }

    public void sendNotification(final String peer, final byte[] payload)
    {
        throw new FerryException(ErrorCode.NOT_SUPPORTED, "FAKE sends no notifications");
    }

    public void close()
    {
        registered.clear();
        peers.clear();
    }
}
