package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ferry doctor on this host, and on a synthetic /sys and /proc that trigger (or avoid) each warning.
 */
@Timeout(60)
class DoctorCommandTest
{
    private static String[] run(final String... args)
    {
        final StringWriter out = new StringWriter();
        final CommandLine cl = FerryCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        final int exit = cl.execute(args);
        return new String[] {Integer.toString(exit), out.toString()};
    }

    @Test
    void thisHostPassesWithBackendsAndSelfTests()
    {
        final String[] r = run("doctor");
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).contains("backends      [LOCAL, TCP]")
            .contains("self-test     LOCAL: 1 MiB WRITE + notification between two agents ok")
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
        String[] r = run("doctor", "--sys", root.toString());
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).contains("WARN  no RDMA device").contains("WARN  net.core.rmem_max is 212992 B")
            .doesNotContain("wmem_max is").contains("kernel's congestion control is bbr")
            .contains("gpus          none");

        Files.createDirectories(root.resolve("sys/class/infiniband/mlx5_0"));
        Files.createDirectories(root.resolve("proc/driver/nvidia/gpus/0000:3b:00.0"));
        Files.writeString(ipv4.resolve("tcp_congestion_control"), "cubic\n");
        Files.writeString(net.resolve("rmem_max"), "8388608\n");
        r = run("doctor", "--sys", root.toString());
        assertThat(r[1]).contains("rdma          [mlx5_0]").contains("gpus          1 NVIDIA")
            .doesNotContain("no RDMA device").doesNotContain("congestion control is bbr")
            .doesNotContain("rmem_max is");
    }
}
