package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;


import static org.assertj.core.api.Assertions.assertThat;

/**
 * kvbench sizes against hand-computed numbers, a real verified run, and bad input.
 */
@Timeout(120)
class KvbenchCommandTest
{
    @Test
    void sizesMatchHandComputedNumbers()
    {
        final KvShape l8 = new KvShape(KvModel.preset("llama-3.1-8b"), 2048, 16, 1, 2);
        assertThat(l8.bytesPerToken()).isEqualTo(2L * 32 * 8 * 128 * 2).isEqualTo(128 * 1024);
        assertThat(l8.regions()).isEqualTo(64);
        assertThat(l8.descriptorBytes()).isEqualTo(32 * 1024);
        assertThat(l8.descriptorsPerRank()).isEqualTo(8192);
        assertThat(l8.bytesPerRank()).isEqualTo(256L << 20);

        final KvShape l70 = new KvShape(KvModel.preset("Llama-3.1-70B"), 2048, 16, 8, 2);
        assertThat(l70.bytesPerToken()).isEqualTo(320 * 1024);
        assertThat(l70.descriptorBytes()).isEqualTo(4096);
        assertThat(l70.descriptorsPerRank()).isEqualTo(20_480);
        assertThat(l70.bytesPerRank()).isEqualTo(80L << 20);
        assertThat(l70.bytesAllRanks()).isEqualTo(640L << 20);

        final KvShape seeds = new KvShape(KvModel.preset("llama-3.1-70b"), 10_000, 16, 1, 2);
        assertThat(seeds.bytesPerRank()).isEqualTo(320L * 1024 * 10_000);

        final KvShape mla = new KvShape(KvModel.preset("deepseek-v3"), 1000, 16, 8, 2);
        assertThat(mla.bytesPerToken()).isEqualTo(61L * 576 * 2);
        assertThat(mla.regions()).isEqualTo(61);
        assertThat(mla.descriptorBytes()).as("MLA is not sharded by TP").isEqualTo(16L * 576 * 2);
        assertThat(new KvShape(KvModel.preset("qwen3-32b"), 1, 16, 1, 1).bytesPerToken()).isEqualTo(2L * 64 * 8 * 128);
    }

    @Test
    void dryRunPrintsSizesWithoutMovingData()
    {
        final CliRun r = CliRun.of("kvbench", "--model", "llama-3.1-70b", "--tokens", "10000", "--dry-run");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("320.0 KiB").contains("100,000 descriptors of 32.0 KiB").contains("3.05 GiB")
            .doesNotContain("verified");
    }

    @Test
    void pushAndPullMoveAndVerifyEveryByte()
    {
        final CliRun push = CliRun.of("kvbench", "--model", "llama-3.1-8b", "--tokens", "256", "--iterations", "2");
        assertThat(push.exit()).as(push.err()).isZero();
        assertThat(push.out()).contains("push (WRITE) DRAM -> DRAM over LOCAL").contains("1024 descriptors")
            .contains("verified");
        final CliRun pull = CliRun.of("kvbench", "--model", "deepseek-v3", "--tokens", "64", "--mode", "pull", "--backend",
            "TCP", "--iterations", "2", "--warmup", "1", "--backend-param", "paths=2");
        assertThat(pull.exit()).as(pull.err()).isZero();
        assertThat(pull.out()).contains("pull (READ) DRAM -> DRAM over TCP").contains("(2 runs after 1 warm-up)")
            .contains("verified");
    }

    @Test
    void shmAndTheFileTierMoveAndVerifyEveryByte(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir)
        throws Exception
    {
        final CliRun shm = CliRun.of("kvbench", "--model", "llama-3.1-8b", "--tokens", "256", "--iterations", "2",
            "--backend", "SHM");
        assertThat(shm.exit()).as(shm.err()).isZero();
        assertThat(shm.out()).contains("over SHM").contains("verified");
        if (!io.ferry.Agent.availableBackends().contains("UCX") && !"true".equals(System.getenv("CI")))
        {
            return; // UCX is not installed here (libucx0); CI installs it
        }
        final CliRun ucx = CliRun.of("kvbench", "--model", "llama-3.1-8b", "--tokens", "256", "--iterations", "2",
            "--backend", "UCX", "--mode", "push", "--backend-param", "UCX_TLS=tcp");
        assertThat(ucx.exit()).as(ucx.out() + ucx.err()).isZero();
        assertThat(ucx.out()).contains("over UCX").contains("verified");
        final CliRun file = CliRun.of("kvbench", "--model", "llama-3.1-8b", "--tokens", "600", "--iterations", "2",
            "--tier", "file", "--dir", dir.toString());
        assertThat(file.exit()).as(file.out() + file.err()).isZero();
        assertThat(file.out()).contains("3 files of 32.00 MiB (256 tokens each").contains("reload (READ)")
            .contains("every byte verified");
        try (java.util.stream.Stream<java.nio.file.Path> left = java.nio.file.Files.list(dir))
        {
            assertThat(left).as("files removed after the run").isEmpty();
        }
    }

    @Test
    void badInputExitsTwoWithAMessage()
    {
        for (final String[] args : new String[][] {
            {"kvbench", "--model", "gpt-5"},
            {"kvbench", "--tokens", "0"},
            {"kvbench", "--warmup", "-1"},
            {"kvbench", "--tp", "3", "--model", "llama-3.1-8b"},
            {"kvbench", "--dtype", "int3"},
            {"kvbench", "--mode", "sideways"},
            {"kvbench", "--backend", "RDMA"},
            {"kvbench", "--decode-seg-type", "VRAM"},
            {"kvbench", "--prefill-seg-type", "SSD"}})
        {
            final CliRun r = CliRun.of(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).isNotBlank();
        }
        final CliRun unknown = CliRun.of("kvbench", "--tokens", "16", "--backend", "TCP", "--backend-param",
            "no_such_param=1");
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.out() + unknown.err()).contains("no_such_param");
    }
}
