package io.ferry.cli;

import io.ferry.AgentConfig;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.connect.BlockPool;
import io.ferry.connect.Connector;
import io.ferry.connect.PeerPool;
import io.ferry.etcd.EtcdMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ferry demo}: disaggregated prefill -> decode in two processes. A prefill worker fills the KV blocks of a
 * batch of requests; a decode worker pulls them (or has them pushed) over the TCP backend through the connector
 * API's block pools, verifies every byte, and reports latency per request, bandwidth, and what the network means
 * for time to first token.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Disaggregated prefill -> decode: two processes move a batch of requests' KV cache over TCP",
        "(block pools, handshake, leases, notifications) and verify every byte.",
        "By default this command starts both workers; --role prefill / --role decode run one each, e.g. on two hosts."})
final class DemoCommand implements java.util.concurrent.Callable<Integer>
{
    static final String PREFILL = "prefill-0";
    static final String DECODE = "decode-0";
    private static final Pattern READY = Pattern.compile("metadata on port (\\d+)");

    /** Which worker this process runs. */
    enum Role
    {
        both, prefill, decode
    }

    /** Who moves the bytes. */
    enum Mode
    {
        pull, push
    }

    @Option(names = "--role", defaultValue = "both",
        description = "both (start the decode worker as a child process and run prefill here), prefill or decode " +
            "(default ${DEFAULT-VALUE}).")
    Role role;

    @Option(names = "--mode", defaultValue = "pull",
        description = "pull: decode READs blocks prefill holds under a lease (vLLM's way); push: prefill WRITEs " +
            "into the blocks decode names, with a notification per request (default ${DEFAULT-VALUE}).")
    Mode mode;

    @Option(names = "--model", defaultValue = "llama-3.1-8b",
        description = "KV geometry preset: llama-3.1-8b, llama-3.1-70b, qwen3-32b, deepseek-v3 (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--tokens", defaultValue = "1024", description = "prompt tokens per request (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--requests", defaultValue = "8", description = "requests in the batch (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--block-tokens", defaultValue = "16", description = "tokens per KV block (default ${DEFAULT-VALUE}).")
    int blockTokens;

    @Option(names = "--tp", defaultValue = "1", description = "tensor-parallel ranks; one rank's share moves (default ${DEFAULT-VALUE}).")
    int tp;

    @Option(names = "--decode", paramLabel = "HOST:PORT",
        description = "prefill role: the decode worker's metadata address (it prints its port).")
    String decodeAddress;

    @Option(names = "--listen-port", defaultValue = "0",
        description = "decode role: the metadata port to listen on (default ${DEFAULT-VALUE}: any free port).")
    int listenPort;

    @Option(names = "--etcd", paramLabel = "URL",
        description = "exchange agent metadata through etcd at URL instead of host:port.")
    String etcd;

    @Option(names = {"--backends", "--backend"}, defaultValue = "SHM,TCP", split = ",",
        description = "the workers' backends in order of preference (default ${DEFAULT-VALUE}: shared memory " +
            "when both workers are on one host, TCP otherwise; TCP alone forces the network; UCX adds UCX's " +
            "transports, e.g. SHM,UCX,TCP or UCX alone).")
    List<String> backends;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS",
        description = "the most any step waits for the other worker (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    public Integer call() throws Exception
    {
        final DemoSpec demo = validate();
        final PrintWriter out = spec.commandLine().getOut();
        return switch (role)
        {
            case decode -> runDecode(demo, out);
            case prefill -> runPrefill(demo, out, decodeAddress);
            case both -> runBoth(demo, out);
        };
    }

    private DemoSpec validate()
    {
        final KvModel m;
        try
        {
            m = KvModel.preset(model);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ParameterException(spec.commandLine(), "--model: " + ex.getMessage());
        }
        if (tokens < 1 || requests < 1 || blockTokens < 1 || tp < 1 || requests > 4096)
        {
            throw new ParameterException(spec.commandLine(),
                "--tokens, --requests (at most 4096), --block-tokens and --tp must be positive");
        }
        final KvShape shape = new KvShape(m, tokens, blockTokens, tp, 2);
        if (timeoutSeconds < 1)
        {
            throw new ParameterException(spec.commandLine(), "--timeout must be at least 1 second");
        }
        for (final String b : backends)
        {
            if (!List.of("SHM", "UCX", "TCP").contains(b))
            {
                throw new ParameterException(spec.commandLine(), "--backends takes SHM, UCX and TCP, got '" + b +
                    "'");
            }
        }
        final DemoSpec d = new DemoSpec(shape, requests, Mode.pull == mode, Duration.ofSeconds(timeoutSeconds),
            List.copyOf(backends));
        final long bytes = d.bytesPerRequest() * requests;
        if (bytes > (16L << 30) || (long)shape.blocks() * requests * shape.regions() > Integer.MAX_VALUE)
        {
            throw new ParameterException(spec.commandLine(), "the batch needs " + human(bytes) +
                " of KV per worker; at most 16 GiB (lower --tokens or --requests)");
        }
        if (Role.prefill == role && null == decodeAddress && null == etcd)
        {
            throw new ParameterException(spec.commandLine(), "--role prefill needs --decode HOST:PORT or --etcd URL");
        }
        if (null != decodeAddress && !decodeAddress.matches("[^:]+:\\d{1,5}"))
        {
            throw new ParameterException(spec.commandLine(), "--decode must be HOST:PORT, got '" + decodeAddress + "'");
        }
        if (listenPort < 0 || listenPort > 65535)
        {
            throw new ParameterException(spec.commandLine(), "--listen-port must be 0-65535");
        }
        return d;
    }

    private int runDecode(final DemoSpec demo, final PrintWriter out)
    {
        try (Connector c = Connector.create(CliAgents.secured(AgentConfig.builder(DECODE).backends(demo.backends())
            .listenPort(listenPort)));
            EtcdMetadata md = null == etcd ? null : EtcdMetadata.builder(c.agent()).endpoints(etcd).build())
        {
            return DemoDecode.run(c, demo, PREFILL, out, port ->
            {
                if (null != md)
                {
                    md.publish();
                }
                out.println(DECODE + " ready: " + demo.layout().regions() + " regions x " +
                    demo.layout().blockCount() + " blocks of " + human(demo.layout().blockBytes()) +
                    ", metadata on port " + port + (null != md ? " and in etcd at " + etcd : ""));
                out.flush();
            });
        }
    }

    private int runPrefill(final DemoSpec demo, final PrintWriter out, final String address)
    {
        final Duration wait = demo.timeout();
        try (Connector c = Connector.create(CliAgents.secured(AgentConfig.builder(PREFILL).backends(demo.backends())));
            EtcdMetadata md = null == etcd ? null : EtcdMetadata.builder(c.agent()).endpoints(etcd).build())
        {
            final Function<BlockPool, PeerPool> attach;
            if (null != md)
            {
                attach = pool ->
                {
                    try
                    {
                        md.fetch(DECODE).get(wait.toSeconds(), TimeUnit.SECONDS);
                    }
                    catch (final Exception ex)
                    {
                        throw new FerryException(ErrorCode.NOT_FOUND, "could not fetch " + DECODE + " from etcd at " +
                            etcd + ": " + ex);
                    }
                    return pool.handshake(DECODE, wait);
                };
            }
            else
            {
                final int colon = address.lastIndexOf(':');
                attach = pool -> pool.handshake(address.substring(0, colon),
                    Integer.parseInt(address.substring(colon + 1)), wait);
            }
            return DemoPrefill.run(c, demo, attach, out);
        }
    }

    private int runBoth(final DemoSpec demo, final PrintWriter out) throws Exception
    {
        final List<String> cmd = new ArrayList<>(List.of(
            ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
            "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"), FerryCommand.class.getName(),
            "demo", "--role", "decode", "--mode", mode.name(), "--model", model, "--tokens", Integer.toString(tokens),
            "--requests", Integer.toString(requests), "--block-tokens", Integer.toString(blockTokens),
            "--tp", Integer.toString(tp), "--listen-port", Integer.toString(listenPort), "--timeout",
            Integer.toString(timeoutSeconds), "--backends", String.join(",", backends)));
        if (null != etcd)
        {
            cmd.addAll(List.of("--etcd", etcd));
        }
        final Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        final Thread reaper = new Thread(child::destroyForcibly, "ferry-demo-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
        try
        {
            final BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
            final CompletableFuture<Integer> port = new CompletableFuture<>();
            final List<String> report = java.util.Collections.synchronizedList(new ArrayList<>());
            final Thread reader = new Thread(() ->
            {
                try
                {
                    String l;
                    while (null != (l = lines.readLine()))
                    {
                        final Matcher m = READY.matcher(l);
                        if (!port.isDone() && m.find())
                        {
                            port.complete(Integer.parseInt(m.group(1)));
                        }
                        report.add(l);
                    }
                }
                catch (final java.io.IOException ex)
                {
                    // the child ended
                }
                port.completeExceptionally(new IllegalStateException("the decode worker ended before it was ready: " +
                    String.join(" / ", report)));
            }, "ferry-demo-decode-output");
            reader.setDaemon(true);
            reader.start();
            final int decodePort = port.get(60, TimeUnit.SECONDS);
            final int prefillExit = runPrefill(demo, out, "127.0.0.1:" + decodePort);
            final boolean ended = child.waitFor(demo.timeout().toSeconds() + 10, TimeUnit.SECONDS);
            reader.join(5_000);
            report.forEach(out::println);
            out.flush();
            if (!ended)
            {
                out.println("decode worker did not finish within " + (demo.timeout().toSeconds() + 10) + " s; stopped it");
                return 1;
            }
            return Math.max(prefillExit, child.exitValue());
        }
        finally
        {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
            try
            {
                Runtime.getRuntime().removeShutdownHook(reaper);
            }
            catch (final IllegalStateException ex)
            {
                // shutting down already
            }
        }
    }

    /**
     * The demo's first line: what moves, and which backend carries it (and why, when it is TCP).
     *
     * @param reaching the prefill agent's backends that reach the decoder, in order of preference.
     */
    static String header(final DemoSpec demo, final List<String> reaching, final String peer)
    {
        final String carrier = reaching.isEmpty() ? "no backend" : reaching.getFirst();
        String why = "";
        if ("TCP".equals(carrier))
        {
            why = demo.backends().contains("SHM") ? " (SHM does not reach " + peer + ": another host or network " +
                "namespace, or its agent runs without SHM)" : " (--backends " + String.join(",", demo.backends()) +
                ")";
        }
        else if ("SHM".equals(carrier))
        {
            why = " (both workers on this host)";
        }
        else if ("UCX".equals(carrier))
        {
            why = " (--backends " + String.join(",", demo.backends()) + ")";
        }
        return String.format("ferry demo: %s -> %s, %d requests x %d tokens (%s of KV each, %d descriptors per " +
            "request), mode %s, over %s%s", PREFILL, peer, demo.requests(), demo.shape().tokens(),
            human(demo.bytesPerRequest()), demo.layout().regions() * demo.blocksPerRequest(),
            demo.pull() ? "pull" : "push", carrier, why);
    }

    static String human(final long bytes)
    {
        if (bytes >= 1L << 30)
        {
            return String.format("%.2f GiB", bytes / (double)(1L << 30));
        }
        if (bytes >= 1L << 20)
        {
            return String.format("%.2f MiB", bytes / (double)(1L << 20));
        }
        return bytes >= 1024 ? String.format("%.1f KiB", bytes / 1024.0) : bytes + " B";
    }
}
