package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ferry doctor on this host, and on a synthetic /sys and /proc that trigger (or avoid) each warning.
 */
@Timeout(60)
class DoctorCommandTest
{
    @Test
    void thisHostPassesWithBackendsAndSelfTests()
    {
        final CliRun r = CliRun.of("doctor");
        assertThat(r.exit()).isZero();
        if (io.ferry.Agent.availableBackends().contains("UCX"))
        {
            assertThat(r.out()).contains("backends      [LOCAL, SHM, FILE, TCP, UCX]").contains("UCX    found: UCX 1.")
                .contains("self-test     UCX: 1 MiB WRITE + notification between two agents ok");
        }
        else
        {
            assertThat(r.out()).contains("backends      [LOCAL, SHM, FILE, TCP]").contains("UCX    not available: ");
        }
        assertThat(r.out())
            .contains("self-test     LOCAL: 1 MiB WRITE + notification between two agents ok")
            .contains("self-test     SHM: 1 MiB WRITE + notification between two agents ok")
            .contains("self-test     FILE: 1 MiB WRITE to a file and READ back ok (io_uring")
            .contains("self-test     TCP: 1 MiB WRITE + notification between two agents ok")
            .contains("ok: ferry can run here");
    }

    @Test
    void warningsFollowWhatTheHostReports(@TempDir final Path root) throws Exception
    {
        final Path net = Files.createDirectories(root.resolve("proc/sys/net/core"));
        final Path ipv4 = Files.createDirectories(root.resolve("proc/sys/net/ipv4"));
        Files.writeString(net.resolve("rmem_max"), "212992\n");
        Files.writeString(net.resolve("wmem_max"), "8388608\n");
        Files.writeString(ipv4.resolve("tcp_congestion_control"), "bbr\n");
        Files.writeString(ipv4.resolve("tcp_available_congestion_control"), "reno bbr cubic\n");
        CliRun r = CliRun.of("doctor", "--sys", root.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("WARN  no RDMA device").contains("WARN  net.core.rmem_max is 212992 B")
            .doesNotContain("wmem_max is").contains("kernel's congestion control is bbr")
            .contains("gpus          none");

        Files.createDirectories(root.resolve("sys/class/infiniband/mlx5_0"));
        Files.createDirectories(root.resolve("proc/driver/nvidia/gpus/0000:3b:00.0"));
        Files.writeString(ipv4.resolve("tcp_congestion_control"), "cubic\n");
        Files.writeString(net.resolve("rmem_max"), "8388608\n");
        r = CliRun.of("doctor", "--sys", root.toString());
        assertThat(r.out()).contains("rdma          [mlx5_0]").contains("gpus          1 NVIDIA")
            .doesNotContain("no RDMA device").doesNotContain("congestion control is bbr")
            .doesNotContain("rmem_max is");
    }
}
