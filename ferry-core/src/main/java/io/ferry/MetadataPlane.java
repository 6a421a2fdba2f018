package io.ferry;

import io.ferry.metadata.MetadataClient;
import io.ferry.metadata.MetadataListener;
import io.ferry.metadata.RecordSeal;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The agent's side of the socket metadata exchange: the embedded listener (when the configuration asks for one)
 * and the client calls that send, fetch and invalidate metadata at another agent's listener, all under the
 * agent's secret and default deadline; and the seal of records kept in a shared store.
 */
final class MetadataPlane implements AutoCloseable
{
    private final String name;
    private final AgentConfig config;
    private volatile MetadataListener listener;

    MetadataPlane(final AgentConfig config)
    {
        this.name = config.name();
        this.config = config;
    }

    /**
     * Starts the listener unless the configuration turned it off.
     *
     * @param load   loads a peer's metadata, returning its name.
     * @param local  this agent's full metadata.
     * @param drop   drops a peer that asked to be invalidated.
     */
    void start(final Function<byte[], String> load, final Supplier<byte[]> local, final Consumer<String> drop)
    {
        if (config.listenPort() < 0)
        {
            return;
        }
        listener = new MetadataListener(name, new InetSocketAddress(config.listenAddress(), config.listenPort()),
            config.defaultTimeout(), load, local, peer ->
            {
                if (!name.equals(peer))
                {
                    drop.accept(peer);
                }
            }, config.authSecretBytes(), config.metadataMaxConnections(), config.metadataMaxPeersPerClient());
    }

    Optional<InetSocketAddress> address()
    {
        final MetadataListener l = listener;
        return null == l ? Optional.empty() : Optional.of(l.address());
    }

    CompletableFuture<Void> send(final String host, final int port, final byte[] metadata)
    {
        Objects.requireNonNull(metadata, "metadata");
        return MetadataClient.send(peerAddress(host, port), metadata.clone(), config.defaultTimeout(),
            "ferry-md-" + name + "-send", config.authSecretBytes());
    }

    CompletableFuture<byte[]> fetch(final String host, final int port)
    {
        return MetadataClient.fetch(peerAddress(host, port), config.defaultTimeout(), "ferry-md-" + name + "-fetch",
            config.authSecretBytes());
    }

    CompletableFuture<Void> invalidate(final String host, final int port)
    {
        return MetadataClient.invalidate(peerAddress(host, port), name, config.defaultTimeout(),
            "ferry-md-" + name + "-invalidate", config.authSecretBytes());
    }

    byte[] seal(final byte[] blob)
    {
        return RecordSeal.seal(config.authSecretBytes(), Objects.requireNonNull(blob, "blob"));
    }

    byte[] open(final byte[] record, final String where)
    {
        return RecordSeal.open(config.authSecretBytes(), Objects.requireNonNull(record, "record"), where);
    }

    public void close()
    {
        final MetadataListener l = listener;
        if (null != l)
        {
            l.close();
        }
    }

    private static InetSocketAddress peerAddress(final String host, final int port)
    {
        Objects.requireNonNull(host, "host");
        if (port < 1 || port > 65535)
        {
            throw FerryException.invalid("port must be 1-65535, got " + port);
        }
        return InetSocketAddress.createUnresolved(host, port);
    }
}
