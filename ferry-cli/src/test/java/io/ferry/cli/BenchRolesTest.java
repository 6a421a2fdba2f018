package io.ferry.cli;

import io.ferry.etcd.EtcdServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ferry bench} across two processes (a target child JVM, the initiator here) meeting by host:port and by
 * etcd, with consistency checks; the one-process schemes; the plot and the progress bar.
 */
@Timeout(180)
class BenchRolesTest
{
    private static final Pattern PORT = Pattern.compile("metadata on port (\\d+)");

    /** A target in a child JVM; close() waits for it to finish or kills it. */
    private static final class Target implements AutoCloseable
    {
        final Process process;
        final int port;
        final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());

        Target(final String... args) throws Exception
        {
            final List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                FerryCommand.class.getName(), "bench", "--role", "target", "--backend", "TCP", "--timeout", "60"));
            cmd.addAll(List.of(args));
            process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            final BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8));
            final CompletableFuture<Integer> ready = new CompletableFuture<>();
            final Thread reader = new Thread(() ->
            {
                try
                {
                    String l;
                    while (null != (l = out.readLine()))
                    {
                        lines.add(l);
                        final Matcher m = PORT.matcher(l);
                        if (m.find())
                        {
                            ready.complete(Integer.parseInt(m.group(1)));
                        }
                    }
                }
                catch (final java.io.IOException ex)
                {
                    // ended
                }
                ready.completeExceptionally(new IllegalStateException("target ended: " + lines));
            });
            reader.setDaemon(true);
            reader.start();
            port = ready.get(60, TimeUnit.SECONDS);
        }

        int finish() throws Exception
        {
            if (!process.waitFor(60, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                return -1;
            }
            return process.exitValue();
        }

        public void close()
        {
            process.destroyForcibly();
            try
            {
                process.waitFor(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void writeAndReadAcrossTwoProcessesWithConsistencyChecks() throws Exception
    {
        for (final String op : new String[] {"WRITE", "READ"})
        {
            try (Target target = new Target("--max-block-size", "262144", "--max-batch-size", "4", "--num-threads",
                "2"))
            {
                final CliRun r = CliRun.of("bench", "--role", "initiator", "--backend", "TCP", "--target",
                    "127.0.0.1:" + target.port, "--op-type", op, "--start-block-size", "65536", "--max-block-size",
                    "262144", "--start-batch-size", "2", "--max-batch-size", "4", "--num-threads", "2", "--num-iter",
                    "20", "--warmup-iter", "2", "--check-consistency");
                assertThat(r.exit()).as(r.out() + r.err()).isZero();
                assertThat(r.out().lines().filter(l -> l.endsWith(" ok"))).hasSize(6);
                assertThat(target.finish()).isZero();
                assertThat(target.lines).anyMatch(l -> l.contains("bench-initiator finished after"));
            }
        }
    }

    @Test
    void rolesMeetThroughEtcd() throws Exception
    {
        try (EtcdServer etcd = EtcdServer.start();
            Target target = new Target("--etcd", etcd.endpoint(), "--max-block-size", "65536"))
        {
            final CliRun r = CliRun.of("bench", "--role", "initiator", "--backend", "TCP", "--etcd", etcd.endpoint(),
                "--start-block-size", "65536", "--max-block-size", "65536", "--num-iter", "20", "--check-consistency");
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(target.finish()).isZero();
            assertThat(target.lines).anyMatch(l -> l.contains("and in etcd at " + etcd.endpoint()));
        }
    }

    @Test
    void aTargetTooSmallForTheSweepIsNamed() throws Exception
    {
        try (Target target = new Target("--max-block-size", "65536"))
        {
            final CliRun r = CliRun.of("bench", "--role", "initiator", "--backend", "TCP", "--target",
                "127.0.0.1:" + target.port, "--max-block-size", "1048576");
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).contains("region 0 is 65536 B, less than --max-block-size x --max-batch-size");
        }
    }

    @Test
    void oneProcessSchemesPlotAndProgress(@TempDir final Path dir) throws Exception
    {
        for (final String scheme : new String[] {"one-to-many", "many-to-one"})
        {
            final Path png = dir.resolve(scheme + ".png");
            final CliRun r = CliRun.of("bench", "--scheme", scheme, "--num-threads", "3", "--max-block-size", "65536",
                "--num-iter", "20", "--warmup-iter", "2", "--check-consistency", "--plot", png.toString(),
                "--progress");
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).contains("plot written to " + png).doesNotContain("MISMATCH");
            assertThat(r.err()).contains("bench [").contains("5/5  done");
            final byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(png), 8);
            assertThat(head).startsWith((byte)0x89, (byte)'P', (byte)'N', (byte)'G');
            assertThat(Files.size(png)).isGreaterThan(5_000);
        }
    }

    @Test
    void badRoleUsageExitsTwo()
    {
        for (final String[] args : new String[][] {
            {"bench", "--role", "initiator", "--backend", "TCP"},
            {"bench", "--role", "target"},
            {"bench", "--role", "target", "--backend", "TCP", "--scheme", "one-to-many"},
            {"bench", "--role", "observer"},
            {"bench", "--role", "initiator", "--backend", "TCP", "--target", "nohost"}})
        {
            final CliRun r = CliRun.of(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).isNotBlank();
        }
    }
}
