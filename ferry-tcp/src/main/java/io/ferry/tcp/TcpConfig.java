package io.ferry.tcp;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The TCP backend's parameters, parsed and checked once. Every parameter, its default and meaning:
 * <table>
 *     <caption>parameters</caption>
 *     <tr><th>name</th><th>default</th><th>meaning</th></tr>
 *     <tr><td>listen_address</td><td>0.0.0.0</td><td>address the listener binds</td></tr>
 *     <tr><td>listen_port</td><td>0</td><td>listener port (0: any free port)</td></tr>
 *     <tr><td>advertise_addresses</td><td>(empty)</td><td>comma list of addresses peers should connect to; empty:
 *     the listen address, or every up interface's IPv4 address when it is the wildcard</td></tr>
 *     <tr><td>paths</td><td>4</td><td>TCP connections per peer</td></tr>
 *     <tr><td>local_addresses</td><td>(empty)</td><td>comma list; path i binds local_addresses[i % n] (multi-NIC)
 *     </td></tr>
 *     <tr><td>chunk_size</td><td>1048576</td><td>most bytes per chunk</td></tr>
 *     <tr><td>vram_chunk_size</td><td>4194304</td><td>most bytes per chunk of a request that touches VRAM on
 *     either side (staged through pinned host memory: larger chunks amortise each device copy; measured on an
 *     H200 host, 4 MiB brings VRAM over TCP to 0.91-0.97 of DRAM where 1 MiB gave 0.66-0.89)</td></tr>
 *     <tr><td>spread_chunk_min</td><td>524288</td><td>a request smaller than paths x its chunk size is cut into
 *     an even share per path, no chunk below this: its WRITE chunks go out on several paths at once, its READ
 *     sub-requests are pipelined on one path (measured on a 2-CPU loopback, one request at a time: 1 MiB
 *     WRITE 116% of iperf3 against 98% as one chunk, 1 MiB READ 75-87% over six runs against 62%); at least the
 *     chunk size turns it off</td></tr>
 *     <tr><td>tail_chunk_size</td><td>262144</td><td>a request of at least 2 x paths chunks has its last
 *     paths x chunk_size bytes cut into chunks of this size (a VRAM request: at least a quarter of its chunk size),
 *     so that the last chunks can be shared out by each path's speed and all paths finish together instead of a slow
 *     one finishing a whole chunk late; at least the chunk size turns it off</td></tr>
 *     <tr><td>max_spans_per_chunk</td><td>256</td><td>most descriptor pieces per chunk</td></tr>
 *     <tr><td>congestion_control</td><td>swift</td><td>swift (delay-based window) or fixed</td></tr>
 *     <tr><td>path_selection</td><td>least_loaded</td><td>least_loaded (a WRITE chunk goes to the path expected
 *     to deliver it first, from its delivery rate and the bytes it has still to deliver; near the end of the queue
 *     it waits for that path rather than take one with room; a READ sub-request likewise, from the rate of the
 *     path's READ replies) or round_robin</td></tr>
 *     <tr><td>window_initial / window_min / window_max</td><td>8 MiB / 4 x chunk_size / 64 MiB</td><td>bounds
 *     of a path's window of unacknowledged bytes (fixed uses window_initial); the floor keeps a few chunks queued
 *     per path so that its pipeline never runs dry (measured: 1 chunk halves READ bandwidth on loopback)</td></tr>
 *     <tr><td>swift_target_factor</td><td>1.5</td><td>target delay = base RTT x factor</td></tr>
 *     <tr><td>swift_beta / swift_max_decrease</td><td>0.8 / 0.5</td><td>multiplicative decrease gain and cap</td></tr>
 *     <tr><td>connect_timeout_ms</td><td>5000</td><td>deadline to connect and handshake one path</td></tr>
 *     <tr><td>reconnect_interval_ms</td><td>1000</td><td>first wait before reconnecting a broken path while others
 *     live (doubles up to 16x); 0 never reconnects</td></tr>
 *     <tr><td>ack_timeout_ms</td><td>10000</td><td>a path whose oldest chunk waits longer for its ack is declared
 *     dead; its chunks go to the other paths</td></tr>
 *     <tr><td>kernel_congestion_control</td><td>(empty)</td><td>the kernel's congestion control for this backend's
 *     sockets, e.g. cubic (empty: the system default); needs {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}
 *     and is logged once when it cannot be applied</td></tr>
 *     <tr><td>crc32c</td><td>false</td><td>CRC32C of every chunk's payload, checked by the receiver</td></tr>
 *     <tr><td>auth_secret</td><td>(empty)</td><td>shared secret; connections must prove it (HMAC-SHA256)</td></tr>
 *     <tr><td>max_frame_bytes</td><td>67108864</td><td>largest frame body this agent accepts (announced to
 *     initiators at the handshake, which refuse at the call a request whose chunks would exceed it)</td></tr>
 *     <tr><td>max_notification_bytes</td><td>16777216</td><td>largest notification payload this agent accepts
 *     (announced at the handshake: a larger {@code sendNotification} or transfer notification is refused at the
 *     call with INVALID_PARAM)</td></tr>
 *     <tr><td>frame_timeout_ms</td><td>30000</td><td>once a frame's first byte has arrived, the whole frame (and
 *     the reply to it) must be done within this, else the connection is closed: a trickling sender holds
 *     nothing for long</td></tr>
 *     <tr><td>max_unauthenticated_connections</td><td>64</td><td>inbound connections that have not finished
 *     their handshake at once; more are closed at accept</td></tr>
 *     <tr><td>max_connections_per_peer</td><td>64</td><td>inbound connections one initiator (by agent name) may
 *     hold; more are refused at the handshake</td></tr>
 * </table>
 */
record TcpConfig(
    String listenAddress,
    int listenPort,
    List<String> advertiseAddresses,
    int paths,
    List<InetAddress> localAddresses,
    int chunkSize,
    int vramChunkSize,
    int spreadChunkMin,
    int tailChunkSize,
    int maxSpansPerChunk,
    String congestionControl,
    String pathSelection,
    long windowInitial,
    long windowMin,
    long windowMax,
    double swiftTargetFactor,
    double swiftBeta,
    double swiftMaxDecrease,
    int connectTimeoutMs,
    int reconnectIntervalMs,
    int ackTimeoutMs,
    String kernelCongestionControl,
    boolean crc32c,
    byte[] authSecret,
    int maxFrameBytes,
    int maxNotificationBytes,
    int frameTimeoutMs,
    int maxUnauthenticatedConnections,
    int maxConnectionsPerPeer)
{
    private static final String DEFAULT_VRAM_CHUNK = "4194304";
    private static final int DEFAULT_MAX_NOTIFICATION = 16 << 20;

    static Map<String, String> defaults()
    {
        final Map<String, String> d = new LinkedHashMap<>();
        d.put("listen_address", "0.0.0.0");
        d.put("listen_port", "0");
        d.put("advertise_addresses", "");
        d.put("paths", "4");
        d.put("local_addresses", "");
        d.put("chunk_size", "1048576");
        d.put("vram_chunk_size", DEFAULT_VRAM_CHUNK);
        d.put("spread_chunk_min", "524288");
        d.put("tail_chunk_size", "262144");
        d.put("max_spans_per_chunk", "256");
        d.put("congestion_control", "swift");
        d.put("path_selection", "least_loaded");
        d.put("window_initial", "8388608");
        d.put("window_min", "0");
        d.put("window_max", "67108864");
        d.put("swift_target_factor", "1.5");
        d.put("swift_beta", "0.8");
        d.put("swift_max_decrease", "0.5");
        d.put("connect_timeout_ms", "5000");
        d.put("reconnect_interval_ms", "1000");
        d.put("ack_timeout_ms", "10000");
        d.put("kernel_congestion_control", "");
        d.put("crc32c", "false");
        d.put("auth_secret", "");
        d.put("max_frame_bytes", "67108864");
        d.put("max_notification_bytes", String.valueOf(DEFAULT_MAX_NOTIFICATION));
        d.put("frame_timeout_ms", "30000");
        d.put("max_unauthenticated_connections", "64");
        d.put("max_connections_per_peer", "64");
        return d;
    }

    static TcpConfig parse(final Map<String, String> p)
    {
        final int chunk = intParam(p, "chunk_size", 4096, 1 << 28);
        final long windowMinRaw = longParam(p, "window_min", 0, Long.MAX_VALUE);
        final long windowMax = longParam(p, "window_max", 1, Long.MAX_VALUE);
        final long windowInitial = longParam(p, "window_initial", 1, Long.MAX_VALUE);
        final long windowMin = 0 == windowMinRaw ? Math.min(4L * chunk, windowInitial) : windowMinRaw;
        if (windowMin > windowMax || windowInitial < windowMin || windowInitial > windowMax)
        {
            throw invalid("windows must satisfy window_min <= window_initial <= window_max, got " + windowMin +
                " / " + windowInitial + " / " + windowMax);
        }
        final int maxFrame = intParam(p, "max_frame_bytes", 65536, Integer.MAX_VALUE);
        final int maxSpans = intParam(p, "max_spans_per_chunk", 1, Frames.MAX_SPANS);
        // the largest payload whose frame (spans, payload and padding) fits
        final long room = (maxFrame - (Frames.chunkPrefix(maxSpans) - Frames.HEADER_LENGTH)) & -(long)Frames.ALIGN;
        if (chunk > room)
        {
            throw invalid("chunk_size " + chunk + " with " + maxSpans + " spans does not fit max_frame_bytes " +
                maxFrame);
        }
        int vramChunk = intParam(p, "vram_chunk_size", 4096, 1 << 28);
        if (vramChunk > room)
        {
            if (!DEFAULT_VRAM_CHUNK.equals(p.get("vram_chunk_size")))
            {
                throw invalid("vram_chunk_size " + vramChunk + " with " + maxSpans + " spans does not fit " +
                    "max_frame_bytes " + maxFrame);
            }
            vramChunk = (int)Math.max(chunk, Math.min(room, vramChunk)); // the default shrinks to what fits
        }
        final String cc = choice(p, "congestion_control", "swift", "fixed");
        final String selection = choice(p, "path_selection", "least_loaded", "round_robin");
        final List<InetAddress> locals = new ArrayList<>();
        for (final String a : list(p.get("local_addresses")))
        {
            try
            {
                locals.add(InetAddress.getByName(a));
            }
            catch (final UnknownHostException ex)
            {
                throw invalid("local_addresses: cannot resolve '" + a + "'");
            }
        }
        final String secret = p.get("auth_secret");
        // a notification's frame: header, fixed part, a failure's reason, the payload, padding
        final long notifyRoom = maxFrame - Frames.NOTIFY_FIXED - Frames.MAX_REASON - Frames.ALIGN;
        long maxNotify = longParam(p, "max_notification_bytes", 0, Integer.MAX_VALUE);
        if (maxNotify > notifyRoom)
        {
            if (!String.valueOf(DEFAULT_MAX_NOTIFICATION).equals(p.get("max_notification_bytes").trim()))
            {
                throw invalid("max_notification_bytes " + maxNotify + " does not fit max_frame_bytes " + maxFrame);
            }
            maxNotify = notifyRoom; // the default shrinks to what fits
        }
        return new TcpConfig(
            p.get("listen_address").trim(),
            intParam(p, "listen_port", 0, 65535),
            list(p.get("advertise_addresses")),
            intParam(p, "paths", 1, 64),
            List.copyOf(locals),
            chunk,
            vramChunk,
            intParam(p, "spread_chunk_min", 4096, 1 << 28),
            intParam(p, "tail_chunk_size", 4096, 1 << 28),
            maxSpans,
            cc,
            selection,
            windowInitial,
            windowMin,
            windowMax,
            doubleParam(p, "swift_target_factor", 1.0, 100),
            doubleParam(p, "swift_beta", 0, 1),
            doubleParam(p, "swift_max_decrease", 0, 1),
            intParam(p, "connect_timeout_ms", 1, 3_600_000),
            intParam(p, "reconnect_interval_ms", 0, 3_600_000),
            intParam(p, "ack_timeout_ms", 1, 3_600_000),
            kernelCc(p.get("kernel_congestion_control")),
            boolParam(p, "crc32c"),
            null == secret || secret.isEmpty() ? null : secret.getBytes(StandardCharsets.UTF_8),
            maxFrame,
            (int)maxNotify,
            intParam(p, "frame_timeout_ms", 1, 3_600_000),
            intParam(p, "max_unauthenticated_connections", 1, 65536),
            intParam(p, "max_connections_per_peer", 1, 65536));
    }

    /**
     * The chunk size for one request: its kind's chunk size, or, when the request is smaller than {@code paths} such
     * chunks, an even share of it per path (whole 4 KiB pages) but never below {@code spread_chunk_min}: a single
     * small WRITE then uses several paths at once, a small READ's responses are pipelined on one.
     *
     * @param totalBytes the request's bytes.
     * @param vram       whether the request touches VRAM on either side.
     * @return the most bytes per chunk for it.
     */
    int chunkSizeFor(final long totalBytes, final boolean vram)
    {
        final int most = vram ? vramChunkSize : chunkSize;
        if (spreadChunkMin >= most || !lessThanOneChunkPerPath(totalBytes, vram))
        {
            return most;
        }
        final long share = ((totalBytes + paths - 1) / paths + 4095) & ~4095L;
        return (int)Math.min(most, Math.max(spreadChunkMin, share));
    }

    /**
     * @param totalBytes a request's bytes.
     * @param vram       whether it touches VRAM on either side.
     * @return whether it is smaller than one whole chunk per path: it is cut into an even share per path (see
     * {@link #chunkSizeFor}), and as a READ it stays on one path (see {@link LinkScheduler}).
     */
    boolean lessThanOneChunkPerPath(final long totalBytes, final boolean vram)
    {
        return totalBytes < (long)paths * (vram ? vramChunkSize : chunkSize);
    }

    /**
     * How many of a request's last bytes go in tail chunks: {@code paths} chunks' worth when the request holds at
     * least twice that, else none (a smaller request is spread evenly already, see {@link #chunkSizeFor}).
     *
     * @param totalBytes the request's bytes.
     * @param chunk      the request's chunk size.
     * @param tailChunk  its tail chunk size ({@link #tailChunkFor}).
     * @return bytes at the end of the request to cut into tail chunks; 0 for none.
     */
    long tailBytesFor(final long totalBytes, final int chunk, final int tailChunk)
    {
        final long tail = (long)paths * chunk;
        return paths > 1 && tailChunk < chunk && totalBytes >= 2 * tail ? tail : 0;
    }

    /**
     * @param chunk the request's chunk size.
     * @param vram  whether the request touches VRAM on either side.
     * @return the size of its tail chunks: {@code tail_chunk_size}, no more than the chunk size, and for VRAM no
     * less than a quarter of it (each staged chunk costs device copies).
     */
    int tailChunkFor(final int chunk, final boolean vram)
    {
        final int floor = vram ? ((chunk >> 2) + 4095) & ~4095 : 0;
        return Math.min(chunk, Math.max(tailChunkSize, floor));
    }

    CongestionController newController()
    {
        return "fixed".equals(congestionControl) ? new FixedWindowController(windowInitial) :
            new SwiftController(windowInitial, windowMin, windowMax, chunkSize, swiftTargetFactor, swiftBeta,
                swiftMaxDecrease);
    }

    private static String kernelCc(final String value)
    {
        final String v = null == value ? "" : value.trim();
        if (!v.matches("[a-z0-9_]{0,15}"))
        {
            throw invalid("kernel_congestion_control must be a kernel algorithm name such as cubic, got '" + value +
                "'");
        }
        return v;
    }

    private static List<String> list(final String value)
    {
        final List<String> out = new ArrayList<>();
        if (null != value)
        {
            for (final String s : value.split(","))
            {
                if (!s.isBlank())
                {
                    out.add(s.trim());
                }
            }
        }
        return List.copyOf(out);
    }

    private static String choice(final Map<String, String> p, final String name, final String... allowed)
    {
        final String v = p.get(name).trim().toLowerCase(Locale.ROOT);
        for (final String a : allowed)
        {
            if (a.equals(v))
            {
                return a;
            }
        }
        throw invalid(name + " must be one of " + List.of(allowed) + ", got '" + p.get(name) + "'");
    }

    private static int intParam(final Map<String, String> p, final String name, final int min, final int max)
    {
        return (int)longParam(p, name, min, max);
    }

    private static long longParam(final Map<String, String> p, final String name, final long min, final long max)
    {
        final String v = p.get(name);
        final long value;
        try
        {
            value = Long.parseLong(v.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw invalid(name + " must be an integer, got '" + v + "'");
        }
        if (value < min || value > max)
        {
            throw invalid(name + " must be within [" + min + ", " + max + "], got " + value);
        }
        return value;
    }

    private static double doubleParam(final Map<String, String> p, final String name, final double min,
        final double max)
    {
        final String v = p.get(name);
        final double value;
        try
        {
            value = Double.parseDouble(v.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw invalid(name + " must be a number, got '" + v + "'");
        }
        if (!(value >= min && value <= max))
        {
            throw invalid(name + " must be within [" + min + ", " + max + "], got " + value);
        }
        return value;
    }

    private static boolean boolParam(final Map<String, String> p, final String name)
    {
        final String v = p.get(name).trim().toLowerCase(Locale.ROOT);
        return switch (v)
        {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw invalid(name + " must be true or false, got '" + p.get(name) + "'");
        };
    }

    private static FerryException invalid(final String message)
    {
        return new FerryException(ErrorCode.INVALID_PARAM, "TCP parameter " + message);
    }
}
