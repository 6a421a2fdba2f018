package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The TCP backend's connection info: {@code "ferry-tcp/1 <host id> host:port,host:port,..."} in ASCII: the host's
 * identity (its boot id) and the addresses a peer may connect to. A peer on another host skips loopback addresses;
 * path i connects to the i-th usable address modulo their count, so a multi-NIC target spreads paths over NICs.
 */
final class Endpoints
{
    static final String PREFIX = "ferry-tcp/1 ";
    static final String HOST_ID = hostId();

    /**
     * @param hostId    the peer's host identity.
     * @param addresses its addresses.
     */
    record Info(String hostId, List<InetSocketAddress> addresses)
    {
        /**
         * @return the addresses this host can use: all on the same host, else those that are not loopback.
         */
        List<InetSocketAddress> usable()
        {
            if (HOST_ID.equals(hostId))
            {
                return addresses;
            }
            final List<InetSocketAddress> out = new ArrayList<>();
            for (final InetSocketAddress a : addresses)
            {
                if (!a.getAddress().isLoopbackAddress())
                {
                    out.add(a);
                }
            }
            return out;
        }
    }

    private Endpoints()
    {
    }

    private static String hostId()
    {
        try
        {
            final String boot = java.nio.file.Files.readString(java.nio.file.Path.of(
                "/proc/sys/kernel/random/boot_id")).trim();
            if (boot.matches("[0-9a-fA-F-]{8,64}"))
            {
                return boot;
            }
        }
        catch (final java.io.IOException | RuntimeException ignore)
        {
            // fall through to the host name
        }
        try
        {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "_");
        }
        catch (final java.net.UnknownHostException ex)
        {
            return "unknown-host";
        }
    }

    static byte[] encode(final List<InetSocketAddress> endpoints)
    {
        final StringBuilder sb = new StringBuilder(PREFIX).append(HOST_ID).append(' ');
        for (int i = 0; i < endpoints.size(); i++)
        {
            final InetSocketAddress a = endpoints.get(i);
            final String host = a.getAddress().getHostAddress();
            sb.append(i == 0 ? "" : ",").append(host.contains(":") ? "[" + host + "]" : host).append(':')
                .append(a.getPort());
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static Info decode(final String peer, final byte[] info)
    {
        final String text = new String(info, StandardCharsets.US_ASCII);
        if (!text.startsWith(PREFIX) || text.length() > 4096)
        {
            throw mismatch(peer, "does not start with '" + PREFIX.trim() + "'");
        }
        final String[] fields = text.substring(PREFIX.length()).split(" ");
        if (2 != fields.length || fields[0].isEmpty())
        {
            throw mismatch(peer, "is not '<host id> <addresses>'");
        }
        final List<InetSocketAddress> out = new ArrayList<>();
        for (final String part : fields[1].split(","))
        {
            final int colon = part.lastIndexOf(':');
            if (colon <= 0)
            {
                throw mismatch(peer, "endpoint '" + part + "' has no port");
            }
            String host = part.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]"))
            {
                host = host.substring(1, host.length() - 1);
            }
            if (!host.matches("[0-9a-fA-F.:]+"))
            {
                throw mismatch(peer, "endpoint '" + part + "' is not a numeric address");
            }
            final int port;
            try
            {
                port = Integer.parseInt(part.substring(colon + 1));
                out.add(new InetSocketAddress(InetAddress.getByName(host), port));
            }
            catch (final java.net.UnknownHostException | IllegalArgumentException ex)
            {
                throw mismatch(peer, "endpoint '" + part + "' is malformed");
            }
            if (port < 1 || port > 65535)
            {
                throw mismatch(peer, "endpoint '" + part + "' has port " + port);
            }
        }
        if (out.isEmpty())
        {
            throw mismatch(peer, "lists no endpoint");
        }
        return new Info(fields[0], List.copyOf(out));
    }

    /**
     * @param config the backend's configuration.
     * @param port   the port the listener got.
     * @return the addresses to publish.
     */
    static List<InetSocketAddress> advertised(final TcpConfig config, final int port)
    {
        final List<InetSocketAddress> out = new ArrayList<>();
        if (!config.advertiseAddresses().isEmpty())
        {
            for (final String a : config.advertiseAddresses())
            {
                try
                {
                    out.add(new InetSocketAddress(InetAddress.getByName(a), port));
                }
                catch (final java.net.UnknownHostException ex)
                {
                    throw new FerryException(ErrorCode.INVALID_PARAM, "TCP parameter advertise_addresses: cannot " +
                        "resolve '" + a + "'");
                }
            }
            return out;
        }
        final InetSocketAddress listen = new InetSocketAddress(config.listenAddress(), port);
        if (!listen.getAddress().isAnyLocalAddress())
        {
            return List.of(listen);
        }
        final List<InetSocketAddress> loopback = new ArrayList<>();
        try
        {
            for (final NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces()))
            {
                if (!nif.isUp())
                {
                    continue;
                }
                for (final InetAddress a : Collections.list(nif.getInetAddresses()))
                {
                    if (a instanceof Inet4Address)
                    {
                        (a.isLoopbackAddress() ? loopback : out).add(new InetSocketAddress(a, port));
                    }
                }
            }
        }
        catch (final SocketException ex)
        {
            throw new FerryException(ErrorCode.BACKEND, "TCP: cannot list network interfaces: " + ex.getMessage(), ex);
        }
        out.addAll(loopback);
        return out;
    }

    private static FerryException mismatch(final String peer, final String what)
    {
        return new FerryException(ErrorCode.MISMATCH, "TCP connection info of peer '" + peer + "' " + what);
    }
}
