package io.ferry.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A small etcd v3 client over the JSON gateway ({@code POST /v3/...}, keys and values base64): leases, put, get,
 * delete, and prefix watches streamed on a virtual thread. Endpoints are tried in order; every call has a
 * deadline.
 */
public final class EtcdClient
{
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<URI> endpoints;
    private final Duration timeout;
    private final HttpClient http;

    /**
     * One key's value.
     *
     * @param key      the key.
     * @param value    the value.
     * @param revision its modification revision.
     */
    public record KeyValue(String key, byte[] value, long revision)
    {
    }

    /**
     * A change seen by a watch.
     *
     * @param deleted  true for a deletion (explicit or lease expiry), false for a put.
     * @param key      the key.
     * @param value    the new value (empty for a deletion).
     * @param revision the change's revision.
     */
    public record Event(boolean deleted, String key, byte[] value, long revision)
    {
    }

    /**
     * @param endpoints etcd client URLs, e.g. {@code http://127.0.0.1:2379}.
     * @param timeout   deadline of each request.
     */
    public EtcdClient(final List<URI> endpoints, final Duration timeout)
    {
        if (endpoints.isEmpty())
        {
            throw new FerryException(ErrorCode.INVALID_PARAM, "no etcd endpoint given");
        }
        this.endpoints = List.copyOf(endpoints);
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    /**
     * @param ttl lease time to live.
     * @return the lease id.
     */
    public long grantLease(final Duration ttl)
    {
        final ObjectNode body = JSON.createObjectNode().put("TTL", Math.max(1, ttl.toSeconds()));
        return post("/v3/lease/grant", body).path("ID").asLong();
    }

    /**
     * @param lease a lease id.
     * @return the remaining TTL in seconds; 0 when etcd no longer knows the lease.
     */
    public long keepAlive(final long lease)
    {
        final ObjectNode body = JSON.createObjectNode().put("ID", Long.toString(lease));
        return post("/v3/lease/keepalive", body).path("result").path("TTL").asLong(0);
    }

    /**
     * @param lease a lease id; its keys are deleted.
     */
    public void revoke(final long lease)
    {
        post("/v3/lease/revoke", JSON.createObjectNode().put("ID", Long.toString(lease)));
    }

    /**
     * @param key   the key.
     * @param value the value.
     * @param lease a lease to bind it to, or 0.
     */
    public void put(final String key, final byte[] value, final long lease)
    {
        final ObjectNode body = JSON.createObjectNode().put("key", b64(key)).put("value",
            Base64.getEncoder().encodeToString(value));
        if (0 != lease)
        {
            body.put("lease", Long.toString(lease));
        }
        post("/v3/kv/put", body);
    }

    /**
     * One read of a key.
     *
     * @param value    its value, or empty when absent.
     * @param revision the store's revision when it was read: a watch from {@code revision + 1} misses nothing.
     */
    public record Read(Optional<KeyValue> value, long revision)
    {
    }

    /**
     * @param key the key.
     * @return its value, or empty when absent.
     */
    public Optional<KeyValue> get(final String key)
    {
        return read(key).value();
    }

    /**
     * @param key the key.
     * @return its value and the store's revision, from one request.
     */
    public Read read(final String key)
    {
        final JsonNode json = post("/v3/kv/range", JSON.createObjectNode().put("key", b64(key)));
        final JsonNode kvs = json.path("kvs");
        return new Read(kvs.isArray() && !kvs.isEmpty() ? Optional.of(keyValue(kvs.get(0))) : Optional.empty(),
            json.path("header").path("revision").asLong());
    }

    /**
     * @param prefix every key starting with it is deleted.
     */
    public void deletePrefix(final String prefix)
    {
        post("/v3/kv/deleterange", JSON.createObjectNode().put("key", b64(prefix)).put("range_end",
            Base64.getEncoder().encodeToString(prefixEnd(prefix))));
    }

    /**
     * Watches every key under a prefix from a revision on, on a virtual thread, until closed or the stream ends.
     *
     * @param prefix   the prefix.
     * @param from     first revision to report (0: from now).
     * @param onEvent  called for every put and delete, in order.
     * @param onEnd    called once when the stream ends other than by {@link Watch#close()} (e.g. etcd restarted).
     * @return the watch.
     */
    public Watch watch(final String prefix, final long from, final Consumer<Event> onEvent,
        final Consumer<Throwable> onEnd)
    {
        final ObjectNode create = JSON.createObjectNode();
        final ObjectNode req = create.putObject("create_request");
        req.put("key", b64(prefix)).put("range_end", Base64.getEncoder().encodeToString(prefixEnd(prefix)));
        if (from > 0)
        {
            req.put("start_revision", Long.toString(from));
        }
        final Watch watch = new Watch();
        watch.thread = Thread.ofVirtual().name("ferry-etcd-watch").start(() ->
        {
            Throwable end = null;
            try
            {
                final HttpRequest request = HttpRequest.newBuilder(endpoints.getFirst().resolve("/v3/watch"))
                    .POST(HttpRequest.BodyPublishers.ofString(create.toString())).build();
                final HttpResponse<InputStream> response = http.send(request,
                    HttpResponse.BodyHandlers.ofInputStream());
                watch.stream = response.body();
                try (BufferedReader lines = new BufferedReader(new InputStreamReader(watch.stream,
                    StandardCharsets.UTF_8)))
                {
                    String line;
                    while (!watch.closed && null != (line = lines.readLine()))
                    {
                        if (line.isBlank())
                        {
                            continue;
                        }
                        final JsonNode result = JSON.readTree(line).path("result");
                        for (final JsonNode ev : result.path("events"))
                        {
                            final KeyValue kv = keyValue(ev.path("kv"));
                            onEvent.accept(new Event("DELETE".equals(ev.path("type").asText()), kv.key(), kv.value(),
                                kv.revision()));
                        }
                    }
                }
                end = new IOException("watch stream ended");
            }
            catch (final IOException | RuntimeException ex)
            {
                end = ex;
            }
            catch (final InterruptedException ex)
            {
                end = ex;
            }
            if (!watch.closed)
            {
                onEnd.accept(end);
            }
        });
        return watch;
    }

    private JsonNode post(final String path, final ObjectNode body)
    {
        IOException last = null;
        for (final URI endpoint : endpoints)
        {
            try
            {
                final HttpRequest request = HttpRequest.newBuilder(endpoint.resolve(path)).timeout(timeout)
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
                final HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                final JsonNode json = JSON.readTree(response.body());
                if (response.statusCode() != 200 || json.has("error"))
                {
                    throw new FerryException(ErrorCode.BACKEND, "etcd " + path + " failed: HTTP " +
                        response.statusCode() + " " + json.path("message").asText(json.path("error").asText()));
                }
                return json;
            }
            catch (final IOException ex)
            {
                last = ex;
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new FerryException(ErrorCode.CANCELED, "interrupted talking to etcd", ex);
            }
        }
        throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "no etcd endpoint of " + endpoints + " answered " +
            path + ": " + last, last);
    }

    private static KeyValue keyValue(final JsonNode kv)
    {
        final byte[] value = kv.has("value") ? Base64.getDecoder().decode(kv.path("value").asText()) : new byte[0];
        return new KeyValue(new String(Base64.getDecoder().decode(kv.path("key").asText()), StandardCharsets.UTF_8),
            value, kv.path("mod_revision").asLong());
    }

    private static String b64(final String s)
    {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] prefixEnd(final String prefix)
    {
        final byte[] end = prefix.getBytes(StandardCharsets.UTF_8);
        for (int i = end.length - 1; i >= 0; i--)
        {
            if (end[i] != (byte)0xFF)
            {
                end[i]++;
                return Arrays.copyOf(end, i + 1);
            }
        }
        return new byte[] {0};
    }

    /**
     * A running watch.
     */
    public static final class Watch implements AutoCloseable
    {
        private volatile boolean closed;
        private volatile InputStream stream;
        private volatile Thread thread;

        /**
         * Stops the watch and its thread.
         */
        public void close()
        {
            closed = true;
            final InputStream s = stream;
            if (null != s)
            {
                try
                {
                    s.close();
                }
                catch (final IOException ignore)
                {
                    // closing anyway
                }
            }
            final Thread t = thread;
            if (null != t)
            {
                t.interrupt();
            }
        }
    }
}
