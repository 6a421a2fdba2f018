package io.ferry.metrics;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Registration;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A scrape of the metrics endpoint after real TCP transfers matches what was moved.
 */
@Timeout(60)
class FerryMetricsTest
{
    private static double value(final String scrape, final String metric, final String... labels)
    {
        for (final String line : scrape.split("\n"))
        {
            if (!line.startsWith(metric + "{"))
            {
                continue;
            }
            boolean all = true;
            for (int i = 0; i + 1 < labels.length; i += 2)
            {
                all &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (all)
            {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no " + metric + " with " + List.of(labels) + " in:\n" + scrape);
    }

    @Test
    void countersMatchWhatWasMovedAndPathsAreReported() throws Exception
    {
        try (FerryMetrics metrics = new FerryMetrics();
            Arena arena = Arena.ofShared();
            Agent init = Agent.create(AgentConfig.builder(unique("init")).backend("TCP",
                Map.of("listen_address", "127.0.0.1")).listenPort(-1).observer(metrics).build());
            Agent target = Agent.create(AgentConfig.builder(unique("target")).backend("TCP",
                Map.of("listen_address", "127.0.0.1")).listenPort(-1).observer(metrics).build()))
        {
            metrics.watch(init).watch(target);
            final MemorySegment src = arena.allocate(1 << 20, 4096);
            final MemorySegment dst = arena.allocate(1 << 20, 4096);
            init.register(MemoryKind.DRAM, List.of(Region.of(src)));
            final Registration reg = target.register(MemoryKind.DRAM, List.of(Region.of(dst)));
            final String peer = init.loadRemoteMetadata(target.localMetadata());

            final Transfer w = init.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(dst), peer,
                TransferOptions.notify("n".getBytes()));
            for (int i = 0; i < 3; i++)
            {
                w.post();
                w.await(Duration.ofSeconds(10));
            }
            final Transfer r = init.createTransfer(TransferOp.READ, DescList.dram(src.asSlice(0, 1 << 19)),
                DescList.dram(dst.asSlice(0, 1 << 19)), peer, null);
            for (int i = 0; i < 2; i++)
            {
                r.post();
                r.await(Duration.ofSeconds(10));
            }
            reg.close();
            w.post();
            assertThat(w.completion()).failsWithin(Duration.ofSeconds(10));
            for (int i = 0; i < 4; i++)
            {
                target.awaitNotification(Duration.ofSeconds(10));
            }

            final int port = metrics.serve(0);
            final String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();

            final String a = init.name();
            assertThat(value(scrape, "ferry_transfers_total", "agent", a, "op", "WRITE", "outcome", "ok", "peer", peer,
                "backend", "TCP")).isEqualTo(3);
            assertThat(value(scrape, "ferry_transfers_total", "agent", a, "op", "WRITE", "outcome", "NOT_FOUND"))
                .isEqualTo(1);
            assertThat(value(scrape, "ferry_transfers_total", "agent", a, "op", "READ", "outcome", "ok")).isEqualTo(2);
            assertThat(value(scrape, "ferry_transfer_bytes_total", "agent", a, "op", "WRITE")).isEqualTo(3 << 20);
            assertThat(value(scrape, "ferry_transfer_bytes_total", "agent", a, "op", "READ")).isEqualTo(1 << 20);
            assertThat(value(scrape, "ferry_transfer_seconds_count", "agent", a, "op", "WRITE")).isEqualTo(4);
            assertThat(value(scrape, "ferry_notifications_total", "agent", target.name(), "kind", "data", "sender", a))
                .isEqualTo(3);
            assertThat(value(scrape, "ferry_notifications_total", "agent", target.name(), "kind", "failure"))
                .isEqualTo(1);
            assertThat(value(scrape, "ferry_path_up", "agent", a, "peer", peer, "path", "0")).isEqualTo(1);
            assertThat(value(scrape, "ferry_path_window_bytes", "agent", a, "peer", peer, "path", "0"))
                .isGreaterThan(0);
            assertThat(metrics.scrape()).contains("ferry_path_rtt_seconds");
        }
    }
}
