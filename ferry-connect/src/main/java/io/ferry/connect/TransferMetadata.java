package io.ferry.connect;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ferry.ErrorCode;
import io.ferry.FerryException;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * What a peer needs to read or write an operation's memory (Dynamo's {@code RdmaMetadata}): the owner's agent
 * name and its agent metadata for just these regions (deflated, base64), the descriptors, a unique key that names
 * the operation in its notifications, and whether the memory may be read or written. Passed between processes as
 * JSON by any channel (HTTP, a queue, a file):
 * <pre>{@code
 * {"version":1,"kind":"READABLE","agent":"prefill-0","key":"prefill-0/12/5f0c...","memory":"DRAM",
 *  "descriptors":[{"address":140230000000000,"size":1048576,"device":"host"}],
 *  "agentMetadata":"eJzt..."}
 * }</pre>
 *
 * @param kind          READABLE (a peer may read it) or WRITABLE (a peer may write it).
 * @param agent         the owner's agent name.
 * @param key           the operation's unique key.
 * @param descriptors   the owner's memory, in order.
 * @param agentMetadata the owner's agent metadata (uncompressed; the JSON carries it deflated).
 */
public record TransferMetadata(Kind kind, String agent, String key, List<Descriptor> descriptors,
    byte[] agentMetadata)
{
    /** The JSON format version this code writes and reads. */
    public static final int VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_DESCRIPTORS = 1 << 20;
    private static final int MAX_METADATA = 64 << 20;

    /** Which way a peer may move the bytes. */
    public enum Kind
    {
        /** The owner made its memory readable: a peer may only read it ({@link Connector#beginRead}). */
        READABLE,
        /** The owner made its memory writable: a peer may only write it ({@link Connector#beginWrite}). */
        WRITABLE
    }

    /**
     * @param kind          READABLE or WRITABLE.
     * @param agent         the owner's agent name.
     * @param key           the operation's key.
     * @param descriptors   the memory, at least one descriptor.
     * @param agentMetadata the owner's agent metadata.
     */
    public TransferMetadata
    {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(agent, "agent");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(agentMetadata, "agentMetadata");
        descriptors = List.copyOf(descriptors);
        if (descriptors.isEmpty())
        {
            throw FerryException.invalid("transfer metadata needs at least one descriptor");
        }
    }

    /**
     * @return the total bytes of the descriptors.
     */
    public long totalBytes()
    {
        long total = 0;
        for (final Descriptor d : descriptors)
        {
            total += d.size();
        }
        return total;
    }

    /**
     * @return the JSON form.
     */
    public String toJson()
    {
        final ObjectNode root = JSON.createObjectNode();
        root.put("version", VERSION);
        root.put("kind", kind.name());
        root.put("agent", agent);
        root.put("key", key);
        root.put("memory", descriptors.getFirst().device().memoryKind().name());
        final ArrayNode descs = root.putArray("descriptors");
        for (final Descriptor d : descriptors)
        {
            descs.addObject().put("address", d.address()).put("size", d.size()).put("device", d.device().toString());
        }
        root.put("agentMetadata", Base64.getEncoder().encodeToString(deflate(agentMetadata)));
        try
        {
            return JSON.writeValueAsString(root);
        }
        catch (final JsonProcessingException ex)
        {
            throw new FerryException(ErrorCode.UNKNOWN, "could not write transfer metadata: " + ex.getMessage(), ex);
        }
    }

    /**
     * Parses and validates the JSON form.
     *
     * @param json what {@link #toJson()} wrote.
     * @return the metadata.
     * @throws FerryException INVALID_PARAM naming what is wrong: not JSON, another version, a missing or bad field,
     *                        a descriptor of no bytes, metadata that does not inflate.
     */
    public static TransferMetadata fromJson(final String json)
    {
        Objects.requireNonNull(json, "json");
        final JsonNode root;
        try
        {
            root = JSON.readTree(json);
        }
        catch (final JsonProcessingException ex)
        {
            throw FerryException.invalid("transfer metadata is not JSON: " + ex.getOriginalMessage());
        }
        if (null == root || !root.isObject())
        {
            throw FerryException.invalid("transfer metadata must be a JSON object");
        }
        final int version = field(root, "version").asInt(-1);
        if (VERSION != version)
        {
            throw FerryException.invalid("transfer metadata version " + field(root, "version") + " is not supported " +
                "(this ferry reads version " + VERSION + ")");
        }
        final Kind kind;
        try
        {
            kind = Kind.valueOf(field(root, "kind").asText());
        }
        catch (final IllegalArgumentException ex)
        {
            throw FerryException.invalid("transfer metadata kind '" + root.get("kind").asText() +
                "' is neither READABLE nor WRITABLE");
        }
        final String agent = text(root, "agent");
        final String key = text(root, "key");
        final JsonNode descs = field(root, "descriptors");
        if (!descs.isArray() || descs.isEmpty() || descs.size() > MAX_DESCRIPTORS)
        {
            throw FerryException.invalid("transfer metadata 'descriptors' must be an array of 1 to " + MAX_DESCRIPTORS +
                " descriptors");
        }
        final List<Descriptor> list = new ArrayList<>(descs.size());
        for (int i = 0; i < descs.size(); i++)
        {
            final JsonNode d = descs.get(i);
            final long address = d.path("address").asLong(0);
            final long size = d.path("size").asLong(0);
            if (0 == address || size <= 0 || !d.path("address").canConvertToLong() || !d.path("size").canConvertToLong())
            {
                throw FerryException.invalid("transfer metadata descriptor " + i + " needs a non-zero address and a " +
                    "positive size, got " + d);
            }
            list.add(Descriptor.of(address, size, device(d.path("device").asText(""), i)));
        }
        final byte[] compressed;
        try
        {
            compressed = Base64.getDecoder().decode(text(root, "agentMetadata"));
        }
        catch (final IllegalArgumentException ex)
        {
            throw FerryException.invalid("transfer metadata 'agentMetadata' is not base64: " + ex.getMessage());
        }
        return new TransferMetadata(kind, agent, key, list, inflate(compressed));
    }

    private static JsonNode field(final JsonNode root, final String name)
    {
        final JsonNode n = root.get(name);
        if (null == n || n.isNull())
        {
            throw FerryException.invalid("transfer metadata has no '" + name + "'");
        }
        return n;
    }

    private static String text(final JsonNode root, final String name)
    {
        final JsonNode n = field(root, name);
        if (!n.isTextual() || n.asText().isEmpty())
        {
            throw FerryException.invalid("transfer metadata '" + name + "' must be a non-empty string");
        }
        return n.asText();
    }

    private static Device device(final String text, final int index)
    {
        if ("host".equals(text))
        {
            return Device.HOST;
        }
        if (text.startsWith("cuda:"))
        {
            try
            {
                return Device.cuda(Integer.parseInt(text.substring(5)));
            }
            catch (final NumberFormatException ex)
            {
                // fall through to the error
            }
        }
        throw FerryException.invalid("transfer metadata descriptor " + index + " has device '" + text +
            "'; expected 'host' or 'cuda:N'");
    }

    private static byte[] deflate(final byte[] bytes)
    {
        final Deflater d = new Deflater(Deflater.BEST_SPEED);
        try
        {
            d.setInput(bytes);
            d.finish();
            final ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 2 + 64);
            final byte[] buf = new byte[8192];
            while (!d.finished())
            {
                out.write(buf, 0, d.deflate(buf));
            }
            return out.toByteArray();
        }
        finally
        {
            d.end();
        }
    }

    private static byte[] inflate(final byte[] bytes)
    {
        final Inflater inf = new Inflater();
        try
        {
            inf.setInput(bytes);
            final ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length * 2 + 64);
            final byte[] buf = new byte[8192];
            while (!inf.finished())
            {
                final int n = inf.inflate(buf);
                if (0 == n && (inf.needsInput() || inf.needsDictionary()))
                {
                    throw FerryException.invalid("transfer metadata 'agentMetadata' is truncated");
                }
                out.write(buf, 0, n);
                if (out.size() > MAX_METADATA)
                {
                    throw FerryException.invalid("transfer metadata 'agentMetadata' inflates past " + MAX_METADATA +
                        " bytes");
                }
            }
            return out.toByteArray();
        }
        catch (final DataFormatException ex)
        {
            throw FerryException.invalid("transfer metadata 'agentMetadata' is not deflated data: " + ex.getMessage());
        }
        finally
        {
            inf.end();
        }
    }

    /**
     * {@inheritDoc}
     */
    public boolean equals(final Object o)
    {
        return o instanceof TransferMetadata m && kind == m.kind && agent.equals(m.agent) && key.equals(m.key) &&
            java.util.Arrays.equals(agentMetadata, m.agentMetadata) && sameDescriptors(m.descriptors);
    }

    private boolean sameDescriptors(final List<Descriptor> other)
    {
        if (other.size() != descriptors.size())
        {
            return false;
        }
        for (int i = 0; i < other.size(); i++)
        {
            final Descriptor a = descriptors.get(i);
            final Descriptor b = other.get(i);
            if (a.address() != b.address() || a.size() != b.size() || !a.device().equals(b.device()))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * {@inheritDoc}
     */
    public int hashCode()
    {
        return Objects.hash(kind, agent, key, descriptors.size());
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "TransferMetadata{" + kind + " of " + agent + ", key " + key + ", " + descriptors.size() +
            " descriptor(s), " + totalBytes() + " B}";
    }
}
