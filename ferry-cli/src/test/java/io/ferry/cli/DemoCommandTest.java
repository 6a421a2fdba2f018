package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;


import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo runs end to end in two processes, both modes, and verifies its bytes; the roles run apart; bad usage
 * exits 2 with a message.
 */
@Timeout(120)
class DemoCommandTest
{
    @Test
    void pullDemoStartsTheDecoderAndVerifiesEveryByte()
    {
        final CliRun r = CliRun.of("demo", "--requests", "3", "--tokens", "100");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out().lines().findFirst().orElseThrow()).startsWith("ferry demo: prefill-0 -> decode-0, 3 " +
            "requests x 100 tokens").endsWith("mode pull, over SHM (both workers on this host)");
        assertThat(r.out()).contains("decode-0 pulled (READ) 3 requests of llama-3.1-8b KV from prefill-0 over SHM")
            .contains("7 blocks of 32.0 KiB").contains("3 released by the decoder, 0 expired")
            .contains("verify   every byte of every block: OK").contains("at 100 Gb/s line rate: 262 ms")
            .doesNotContain("MISMATCH");
        assertThat(r.out().lines().filter(l -> l.matches("[012] +448 .*"))).hasSize(3);
    }

    @Test
    void pushDemoOverUcx()
    {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.ferry.Agent.availableBackends().contains("UCX") ||
            "true".equals(System.getenv("CI")), "UCX is not installed here (libucx0)");
        final CliRun r = CliRun.of("demo", "--backend", "UCX", "--mode", "push", "--requests", "2", "--tokens", "64");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("mode push, over UCX (--backends UCX)")
            .contains("verify   every byte of every block: OK");
    }

    @Test
    void pushDemoWritesWithANotificationPerRequest()
    {
        final CliRun r = CliRun.of("demo", "--mode", "push", "--requests", "2", "--tokens", "64", "--model",
            "deepseek-v3");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("decode-0 was pushed (WRITE + notification) 2 requests of deepseek-v3")
            .contains("mode push, over SHM (both workers on this host)")
            .contains("pushed every request into the blocks the decoder named")
            .contains("verify   every byte of every block: OK");
    }

    @Test
    void tcpAloneIsNamedAsTheReason()
    {
        final CliRun r = CliRun.of("demo", "--requests", "2", "--tokens", "32", "--backends", "TCP");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out().lines().findFirst().orElseThrow()).endsWith("over TCP (--backends TCP)");
        assertThat(r.out()).contains("from prefill-0 over TCP").contains("verify   every byte of every block: OK");
    }

    @Test
    void rolesRunApartAndMeetByHostAndPort() throws Exception
    {
        try (ChildCli decode = new ChildCli("demo", "--role", "decode", "--requests", "2", "--tokens", "32"))
        {
            final CliRun prefill = CliRun.of("demo", "--role", "prefill", "--decode", "127.0.0.1:" + decode.port,
                "--requests", "2", "--tokens", "32");
            assertThat(prefill.exit()).as(prefill.out()).isZero();
            assertThat(decode.finish()).as(decode.output()).isZero();
            assertThat(decode.output()).contains("every byte of every block: OK");
        }
    }

    @Test
    void mismatchedWorkersAreRefusedNamingTheDifference() throws Exception
    {
        try (ChildCli decode = new ChildCli("demo", "--role", "decode", "--requests", "2", "--tokens", "32",
            "--timeout", "20"))
        {
            final CliRun prefill = CliRun.of("demo", "--role", "prefill", "--decode", "127.0.0.1:" + decode.port,
                "--requests", "2", "--tokens", "32", "--model", "qwen3-32b");
            assertThat(prefill.exit()).isEqualTo(1);
            assertThat(prefill.out()).contains("MISMATCH").contains("tag 'qwen3-32b/bf16/NHD/tp1/bt16' vs ours " +
                "'llama-3.1-8b/bf16/NHD/tp1/bt16'");
            assertThat(decode.finish()).isEqualTo(1);
            assertThat(decode.output()).contains("refused the handshake of prefill-0");
        }
    }

    @Test
    void workersMeetThroughEtcd() throws Exception
    {
        try (io.ferry.etcd.LocalEtcd etcd = io.ferry.etcd.EtcdServer.start())
        {
            final CliRun r = CliRun.of("demo", "--etcd", etcd.endpoint(), "--requests", "2", "--tokens", "32");
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).contains("and in etcd at " + etcd.endpoint()).contains("every byte of every block: OK");
        }
    }

    @Test
    void badUsageExitsTwoWithAMessage()
    {
        final CliRun negative = CliRun.of("demo", "--requests", "-1");
        assertThat(negative.exit()).isEqualTo(2);
        assertThat(negative.err()).contains("--requests");
        final CliRun model = CliRun.of("demo", "--model", "gpt-9");
        assertThat(model.exit()).isEqualTo(2);
        assertThat(model.err()).contains("unknown model 'gpt-9'");
        assertThat(CliRun.of("demo", "--role", "prefill").err()).contains("needs --decode HOST:PORT or --etcd URL");
        assertThat(CliRun.of("demo", "--role", "prefill", "--decode", "nohost").err()).contains("HOST:PORT");
        assertThat(CliRun.of("demo", "--tokens", "1000000", "--requests", "4096").err()).contains("at most 16 GiB");
        assertThat(CliRun.of("no-such-command").exit()).isEqualTo(2);
    }

    @Test
    void noSubcommandPrintsUsage()
    {
        final CliRun r = CliRun.of();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("demo");
    }
}
