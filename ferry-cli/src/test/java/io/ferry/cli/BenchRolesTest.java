package io.ferry.cli;

import io.ferry.etcd.EtcdServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ferry bench} across two processes (a target child JVM, the initiator here) meeting by host:port and by
 * etcd, with consistency checks; the one-process schemes; the plot and the progress bar.
 */
@Timeout(180)
class BenchRolesTest
{
    private static ChildCli target(final String... args) throws Exception
    {
        return backendTarget("TCP", args);
    }

    private static ChildCli backendTarget(final String backend, final String... args) throws Exception
    {
        final List<String> all = new ArrayList<>(List.of("bench", "--role", "target", "--backend", backend,
            "--timeout", "60"));
        all.addAll(List.of(args));
        return new ChildCli(all.toArray(new String[0]));
    }

    @Test
    void writeAndReadAcrossTwoProcessesWithConsistencyChecks() throws Exception
    {
        for (final String op : new String[] {"WRITE", "READ"})
        {
            try (ChildCli target = target("--max-block-size", "262144", "--max-batch-size", "4", "--num-threads",
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
    void shmAcrossTwoProcessesThroughSharedFilesAndCrossMemoryAttach() throws Exception
    {
        for (final String memory : new String[] {"--shm-arena", "--no-shm-arena"})
        {
            for (final String op : new String[] {"WRITE", "READ"})
            {
                try (ChildCli target = backendTarget("SHM", memory, "--max-block-size", "1048576", "--max-batch-size", "8"))
                {
                    final CliRun r = CliRun.of("bench", "--role", "initiator", "--backend", "SHM", memory,
                        "--target", "127.0.0.1:" + target.port, "--op-type", op, "--start-block-size", "4096",
                        "--max-block-size", "1048576", "--start-batch-size", "1", "--max-batch-size", "8",
                        "--num-iter", "20", "--warmup-iter", "2", "--check-consistency");
                    assertThat(r.exit()).as(r.out() + r.err()).isZero();
                    assertThat(r.out().lines().filter(l -> l.endsWith(" ok"))).as(r.out()).hasSize(9 * 4);
                    assertThat(target.finish()).isZero();
                }
            }
        }
    }

    @Test
    void ucxAcrossTwoProcessesWithConsistencyChecks() throws Exception
    {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.ferry.Agent.availableBackends().contains("UCX") ||
            "true".equals(System.getenv("CI")), "UCX is not installed here (libucx0)");
        for (final String op : new String[] {"WRITE", "READ"})
        {
            try (ChildCli target = backendTarget("UCX", "--backend-param", "UCX_TLS=tcp", "--max-block-size",
                "1048576", "--max-batch-size", "8"))
            {
                final CliRun r = CliRun.of("bench", "--role", "initiator", "--backend", "UCX", "--backend-param",
                    "UCX_TLS=tcp", "--target", "127.0.0.1:" + target.port, "--op-type", op, "--start-block-size",
                    "4096", "--max-block-size", "1048576", "--start-batch-size", "1", "--max-batch-size", "8",
                    "--num-iter", "20", "--warmup-iter", "2", "--check-consistency");
                assertThat(r.exit()).as(r.out() + r.err()).isZero();
                assertThat(r.out().lines().filter(l -> l.endsWith(" ok"))).as(r.out()).hasSize(9 * 4);
                assertThat(target.finish()).isZero();
            }
        }
    }

    @Test
    void storageModeWritesAndReadsItsOwnFileWithConsistencyChecks(@TempDir final Path dir)
    {
        for (final String op : new String[] {"WRITE", "READ"})
        {
            final CliRun r = CliRun.of("bench", "--backend", "FILE", "--target-seg-type", "FILE", "--filepath",
                dir.resolve("bench.dat").toString(), "--op-type", op, "--start-block-size", "4096",
                "--max-block-size", "1048576", "--max-batch-size", "4", "--num-threads", "2", "--num-iter", "10",
                "--warmup-iter", "2", "--check-consistency");
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out().lines().filter(l -> l.endsWith(" ok"))).as(r.out()).hasSize(9 * 3);
        }
        final CliRun bad = CliRun.of("bench", "--backend", "FILE", "--target-seg-type", "FILE");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--filepath PATH");
    }

    @Test
    void ferryAuthSecretGuardsEveryPlaneOfTheAgentsTheCommandStarts() throws Exception
    {
        final java.util.Map<String, String> secret = java.util.Map.of(CliAgents.SECRET_ENV, "s3cret");
        final List<String> args = new ArrayList<>(List.of("bench", "--role", "target", "--backend", "TCP",
            "--timeout", "60", "--max-block-size", "65536"));
        try (ChildCli target = new ChildCli(secret, args.toArray(new String[0])))
        {
            // this JVM has no secret: the target's metadata listener refuses it
            final CliRun stranger = CliRun.of("bench", "--role", "initiator", "--backend", "TCP", "--target",
                "127.0.0.1:" + target.port, "--start-block-size", "65536", "--max-block-size", "65536",
                "--num-iter", "5");
            assertThat(stranger.exit()).isNotZero();
            assertThat(stranger.err()).contains("NOT_ALLOWED");
            // an initiator with the same secret in its environment is served
            final List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                FerryCommand.class.getName(), "bench", "--role", "initiator", "--backend", "TCP", "--target",
                "127.0.0.1:" + target.port, "--start-block-size", "65536", "--max-block-size", "65536", "--num-iter",
                "20", "--check-consistency"));
            final ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(secret);
            final Process friend = pb.start();
            final String out = new String(friend.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(friend.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(friend.exitValue()).as(out).isZero();
            assertThat(target.finish()).isZero();
        }
    }

    @Test
    void rolesMeetThroughEtcd() throws Exception
    {
        try (io.ferry.etcd.LocalEtcd etcd = EtcdServer.start();
            ChildCli target = target("--etcd", etcd.endpoint(), "--max-block-size", "65536"))
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
        try (ChildCli target = target("--max-block-size", "65536"))
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
