package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A short real bench run with consistency check, its JSON and CSV output, and argument validation.
 */
@Timeout(120)
class BenchCommandTest
{
    @Test
    void shortSweepWithConsistencyCheckWritesJsonAndCsv(@TempDir final Path dir) throws Exception
    {
        final Path json = dir.resolve("r.json");
        final Path csv = dir.resolve("r.csv");
        final CliRun r = CliRun.of("bench", "--start-block-size", "4096", "--max-block-size", "65536",
            "--max-batch-size", "4", "--num-iter", "30", "--warmup-iter", "5", "--num-threads", "2",
            "--check-consistency", "--json", json.toString(), "--csv", csv.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("block").contains("GB/s").contains("xfer_p99").doesNotContain("MISMATCH");
        final String j = Files.readString(json);
        assertThat(j).startsWith("{\"backend\":\"LOCAL\",\"op\":\"WRITE\",\"threads\":2");
        for (final String key : List.of("block_size", "batch_size", "gb_per_s", "avg_lat_us", "avg_prep_us",
            "p99_prep_us", "avg_post_us", "p99_post_us", "avg_tx_us", "p50_tx_us", "p99_tx_us", "iterations",
            "consistent"))
        {
            assertThat(j).contains("\"" + key + "\":");
        }
        assertThat(j.split("\"block_size\"").length - 1).as("5 block sizes x 3 batch sizes").isEqualTo(15);
        assertThat(Files.readAllLines(csv)).hasSize(16).first().asString().startsWith("block_size,batch_size");
    }

    @Test
    void readsOverTcpOneCall()
    {
        final CliRun r = CliRun.of("bench", "--backend", "TCP", "--op-type", "READ", "--request", "one-call",
            "--start-block-size", "65536", "--max-block-size", "131072", "--num-iter", "20", "--warmup-iter", "2",
            "--check-consistency");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("64.0 KiB").contains("128.0 KiB").contains(" ok");
    }

    @Test
    void pathStatsShowWhatEachConnectionCarried()
    {
        final CliRun r = CliRun.of("bench", "--backend", "TCP", "--backend-param", "paths=2",
            "--start-block-size", "4194304", "--max-block-size", "4194304", "--num-iter", "20", "--warmup-iter", "2",
            "--path-stats");
        assertThat(r.exit()).as(r.err()).isZero();
        final List<String> rows = r.out().lines().dropWhile(l -> !l.contains("delivery_GB/s")).skip(1).toList();
        assertThat(rows).as(r.out()).hasSize(2);
        for (int path = 0; path < 2; path++)
        {
            final String[] f = rows.get(path).trim().split("\\s+");
            assertThat(f[2]).as("path index").isEqualTo(Integer.toString(path));
            assertThat(f[3]).as("alive").isEqualTo("true");
            assertThat(Double.parseDouble(f[7])).as("MB acknowledged on path %d", path).isPositive();
        }
    }

    @Test
    void badArgumentsExitTwoWithAMessage()
    {
        for (final String[] args : new String[][] {
            {"bench", "--backend", "RDMA"},
            {"bench", "--op-type", "MOVE"},
            {"bench", "--start-block-size", "3000"},
            {"bench", "--start-block-size", "8192", "--max-block-size", "4096"},
            {"bench", "--initiator-seg-type", "VRAM"},
            {"bench", "--target-seg-type", "HBM"},
            {"bench", "--scheme", "ring"},
            {"bench", "--num-threads", "0"},
            {"bench", "--num-iter", "lots"}})
        {
            final CliRun r = CliRun.of(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).isNotBlank();
        }
    }

    @Test
    void vramIsRefusedWhereItCannotRunSayingWhy()
    {
        final CliRun r = CliRun.of("bench", "--initiator-seg-type", "VRAM", "--backend", "TCP");
        if (null != io.ferry.cuda.VramBuffer.unavailableReason())
        {
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).contains("VRAM needs a CUDA GPU, and this host has none usable");
        }
        final CliRun local = CliRun.of("bench", "--initiator-seg-type", "VRAM");
        assertThat(local.exit()).isEqualTo(2);
        assertThat(local.err()).containsAnyOf("VRAM needs a CUDA GPU", "the LOCAL backend moves DRAM only");
        assertThat(CliRun.of("bench", "--target-seg-type", "HBM").err()).contains("must be DRAM or VRAM, got 'HBM'");
    }
}
