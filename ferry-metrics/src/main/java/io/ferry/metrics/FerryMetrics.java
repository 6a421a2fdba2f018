package io.ferry.metrics;

import io.ferry.Agent;
import io.ferry.AgentObserver;
import io.ferry.Notification;
import io.ferry.PathStats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus metrics of one or more agents, in a registry of their own:
 * <ul>
 *     <li>{@code ferry_transfers_total{agent,backend,peer,op,outcome}} — ended posts, outcome {@code ok} or the
 *     error code;</li>
 *     <li>{@code ferry_transfer_bytes_total{agent,backend,peer,op}} — bytes of completed posts;</li>
 *     <li>{@code ferry_transfer_seconds{agent,backend,peer,op}} — histogram of post-to-end time;</li>
 *     <li>{@code ferry_notifications_total{agent,sender,kind}} — notifications received, kind {@code data} or
 *     {@code failure};</li>
 *     <li>{@code ferry_path_window_bytes}, {@code ferry_path_inflight_bytes}, {@code ferry_path_rtt_seconds},
 *     {@code ferry_path_up} {@code {agent,backend,peer,path}} — backend connections (TCP paths), read at scrape
 *     time from {@link #watch(Agent) watched} agents.</li>
 * </ul>
 * <pre>{@code
 * FerryMetrics metrics = new FerryMetrics();
 * Agent agent = Agent.create(AgentConfig.builder("prefill-0").observer(metrics).build());
 * metrics.watch(agent);
 * metrics.serve(9400);   // GET http://host:9400/metrics
 * }</pre>
 */
public final class FerryMetrics implements AgentObserver, AutoCloseable
{
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final List<Agent> watched = new CopyOnWriteArrayList<>();
    private final Counter transfers;
    private final Counter bytes;
    private final Histogram seconds;
    private final Counter notifications;
    private volatile HTTPServer server;

    /**
     * Creates the metrics in a registry of their own.
     */
    public FerryMetrics()
    {
        transfers = Counter.builder().name("ferry_transfers").help("Ended posts of transfers")
            .labelNames("agent", "backend", "peer", "op", "outcome").register(registry);
        bytes = Counter.builder().name("ferry_transfer_bytes").help("Bytes moved by completed posts")
            .labelNames("agent", "backend", "peer", "op").register(registry);
        seconds = Histogram.builder().name("ferry_transfer_seconds").help("Time from post to end")
            .labelNames("agent", "backend", "peer", "op").register(registry);
        notifications = Counter.builder().name("ferry_notifications").help("Notifications received")
            .labelNames("agent", "sender", "kind").register(registry);
        pathGauge("ferry_path_window_bytes", "Congestion window of a backend path", p -> p.windowBytes());
        pathGauge("ferry_path_inflight_bytes", "Unacknowledged bytes on a backend path", p -> p.inflightBytes());
        pathGauge("ferry_path_rtt_seconds", "Smoothed chunk round-trip time of a backend path",
            p -> p.smoothedRttNs() / 1e9);
        pathGauge("ferry_path_delivery_bytes_per_second", "Delivery-rate estimate of a backend path (0: none)",
            p -> p.deliveryBytesPerSecond());
        pathGauge("ferry_path_up", "1 while a backend path is connected", p -> p.alive() ? 1 : 0);
    }

    private void pathGauge(final String name, final String help, final ToDoubleFunction<PathStats> value)
    {
        GaugeWithCallback.builder().name(name).help(help).labelNames("agent", "backend", "peer", "path")
            .callback(cb ->
            {
                for (final Agent a : watched)
                {
                    if (a.isClosed())
                    {
                        continue;
                    }
                    for (final PathStats p : a.pathStats())
                    {
                        cb.call(value.applyAsDouble(p), a.name(), p.backend(), p.peer(), Integer.toString(p.path()));
                    }
                }
            }).register(registry);
    }

    /**
     * @param agent an agent whose backend paths to report at scrape time.
     * @return this.
     */
    public FerryMetrics watch(final Agent agent)
    {
        watched.add(agent);
        return this;
    }

    /**
     * {@inheritDoc}
     */
    public void onTransferEnd(final TransferEvent e)
    {
        final String op = e.op().name();
        transfers.labelValues(e.agent(), e.backend(), e.peer(), op, null == e.error() ? "ok" : e.error().name()).inc();
        if (null == e.error())
        {
            bytes.labelValues(e.agent(), e.backend(), e.peer(), op).inc(e.bytes());
        }
        seconds.labelValues(e.agent(), e.backend(), e.peer(), op).observe(e.nanos() / 1e9);
    }

    /**
     * {@inheritDoc}
     */
    public void onNotification(final String agent, final Notification n)
    {
        notifications.labelValues(agent, n.sender(), n.isFailure() ? "failure" : "data").inc();
    }

    /**
     * @return the registry holding ferry's metrics.
     */
    public PrometheusRegistry registry()
    {
        return registry;
    }

    /**
     * @return the current metrics in the Prometheus text format.
     */
    public String scrape()
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try
        {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Serves {@code /metrics} over HTTP.
     *
     * @param port the port (0: any free port).
     * @return the port it listens on.
     * @throws UncheckedIOException when it cannot listen.
     */
    public int serve(final int port)
    {
        try
        {
            server = HTTPServer.builder().port(port).registry(registry).buildAndStart();
            return server.getPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot serve metrics on port " + port, ex);
        }
    }

    /**
     * Stops the HTTP server, if any.
     */
    public void close()
    {
        final HTTPServer s = server;
        if (null != s)
        {
            s.close();
        }
    }
}
