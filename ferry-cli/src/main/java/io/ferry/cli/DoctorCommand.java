package io.ferry.cli;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.BackendInfo;
import io.ferry.DescList;
import io.ferry.MemoryKind;
import io.ferry.Region;
import io.ferry.Transfer;
import io.ferry.TransferOp;
import io.ferry.TransferOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code ferry doctor}: what this host offers ferry and what to fix, with the seeds' troubleshooting table turned
 * into checks (no RDMA device, so TCP carries the data; MTU too small for bulk transfer; ...). Warnings do not fail;
 * a check that cannot work (no backend, a loopback transfer that fails) exits 1.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "Check this host for ferry: interfaces, RDMA, GPUs, backends, kernel TCP settings, a self-test.")
final class DoctorCommand implements Callable<Integer>
{
    private static final long BULK_MTU = 4096;
    private static final long WANT_SOCKET_BUFFER = 4L << 20;

    @CommandLine.Option(names = "--sys", defaultValue = "/", hidden = true,
        description = "root of /sys and /proc to read (tests)")
    Path root;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final List<String> warnings = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        out.printf("java          %s (%s)%n", Runtime.version(), System.getProperty("java.vm.name"));
        interfaces(out);
        rdma(out);
        gpus(out);
        backends(out);
        kernelTcp(out);
        security(out);
        selfTest(out);
        out.println();
        for (final String w : warnings)
        {
            out.println("WARN  " + w);
        }
        for (final String f : failures)
        {
            out.println("FAIL  " + f);
        }
        out.println(failures.isEmpty() ? "ok: ferry can run here" + (warnings.isEmpty() ? "" : " (" +
            warnings.size() + " warning(s))") : "not ok: " + failures.size() + " failed check(s)");
        out.flush();
        return failures.isEmpty() ? 0 : 1;
    }

    private void interfaces(final PrintWriter out) throws SocketException
    {
        out.println("interfaces");
        for (final NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces()))
        {
            final List<String> addrs = new ArrayList<>();
            for (final InetAddress a : Collections.list(nif.getInetAddresses()))
            {
                addrs.add(a.getHostAddress().replaceAll("%.*", ""));
            }
            final String speed = read("sys/class/net/" + nif.getName() + "/speed");
            out.printf("  %-12s %-4s mtu %-6d speed %-10s %s%n", nif.getName(), nif.isUp() ? "up" : "down",
                nif.getMTU(), null == speed || speed.startsWith("-") ? "?" : speed + " Mb/s", addrs);
            if (nif.isUp() && !nif.isLoopback() && !addrs.isEmpty() && nif.getMTU() < BULK_MTU)
            {
                warnings.add("MTU " + nif.getMTU() + " on " + nif.getName() + " is small for bulk transfer (low " +
                    "bandwidth: set MTU 9000 where the network allows jumbo frames)");
            }
        }
    }

    private void rdma(final PrintWriter out)
    {
        final List<String> devices = list("sys/class/infiniband");
        out.println("rdma          " + (devices.isEmpty() ? "none" : devices));
        if (devices.isEmpty())
        {
            warnings.add("no RDMA device: ferry moves data over TCP (transfer timeouts in RDMA setups usually mean " +
                "RDMA is not enabled: check the NIC driver)");
        }
    }

    private void gpus(final PrintWriter out)
    {
        final List<String> gpus = list("proc/driver/nvidia/gpus");
        out.println("gpus          " + (gpus.isEmpty() ? "none (no NVIDIA driver)" : gpus.size() + " NVIDIA " + gpus));
    }

    private static void security(final PrintWriter out)
    {
        final String secret = System.getenv(CliAgents.SECRET_ENV);
        out.println("security      " + (null == secret || secret.isEmpty() ?
            "no shared secret (" + CliAgents.SECRET_ENV + " unset): metadata and data ports trust the network" :
            "shared secret set (" + CliAgents.SECRET_ENV + "): every plane authenticated both ways"));
    }

    private void backends(final PrintWriter out)
    {
        final List<String> names = Agent.availableBackends();
        out.println("backends      " + names);
        if (!names.contains("UCX"))
        {
            out.println("  UCX    not available: " + io.ferry.ucx.UcxBackendProvider.describeHost());
        }
        for (final String n : names)
        {
            final BackendInfo info = Agent.backendInfo(n);
            out.printf("  %-6s moves %s; %s%n", n, info.memoryKinds(), info.params().isEmpty() ? "no parameters" :
                "parameters " + info.params());
            if ("UCX".equals(n))
            {
                out.printf("  %-6s found: %s%n", n, io.ferry.ucx.UcxBackendProvider.describeHost());
            }
            if (null != info.limitations())
            {
                out.printf("  %-6s limited: %s%n", n, info.limitations());
                warnings.add(n + ": " + info.limitations());
            }
        }
        if (names.isEmpty())
        {
            failures.add("no ferry backend is on the class path");
        }
    }

    private void kernelTcp(final PrintWriter out)
    {
        final String cc = read("proc/sys/net/ipv4/tcp_congestion_control");
        out.println("tcp cc        " + cc + " (available: " + read("proc/sys/net/ipv4/tcp_available_congestion_control") +
            ")");
        if ("bbr".equals(cc))
        {
            warnings.add("the kernel's congestion control is bbr, which paces packets: on loopback it slowed small " +
                "READs; TCP parameter kernel_congestion_control=cubic (with --add-exports " +
                "java.base/sun.nio.ch=ALL-UNNAMED) sets another for ferry's sockets");
        }
        final String rmem = read("proc/sys/net/core/rmem_max");
        final String wmem = read("proc/sys/net/core/wmem_max");
        out.println("socket bufs   rmem_max " + rmem + ", wmem_max " + wmem + ", tcp_rmem " +
            read("proc/sys/net/ipv4/tcp_rmem") + ", tcp_wmem " + read("proc/sys/net/ipv4/tcp_wmem"));
        for (final String[] kv : new String[][] {{"rmem_max", rmem}, {"wmem_max", wmem}})
        {
            if (null != kv[1] && kv[1].matches("\\d+") && Long.parseLong(kv[1]) < WANT_SOCKET_BUFFER)
            {
                warnings.add("net.core." + kv[0] + " is " + kv[1] + " B: below 4 MiB, high bandwidth-delay links " +
                    "cannot be filled (sysctl -w net.core." + kv[0] + "=" + WANT_SOCKET_BUFFER + ")");
            }
        }
    }

    private void selfTest(final PrintWriter out)
    {
        for (final String backend : List.of("LOCAL", "SHM", "UCX", "TCP"))
        {
            if (!Agent.availableBackends().contains(backend))
            {
                continue;
            }
            try (Arena arena = "SHM".equals(backend) ? io.ferry.shm.ShmArena.open() : Arena.ofShared();
                Agent a = Agent.create(config("doctor-a", backend));
                Agent b = Agent.create(config("doctor-b", backend)))
            {
                final MemorySegment src = arena.allocate(1 << 20, 4096);
                final MemorySegment dst = arena.allocate(1 << 20, 4096);
                src.fill((byte)0x5A);
                a.register(MemoryKind.DRAM, List.of(Region.of(src)));
                b.register(MemoryKind.DRAM, List.of(Region.of(dst)));
                final String peer = a.loadRemoteMetadata(b.localMetadata());
                final Transfer t = a.createTransfer(TransferOp.WRITE, DescList.dram(src), DescList.dram(dst), peer,
                    TransferOptions.notify(new byte[] {1}));
                t.post();
                t.await(Duration.ofSeconds(10));
                b.awaitNotification(Duration.ofSeconds(10));
                final boolean same = -1 == MemorySegment.mismatch(src, 0, src.byteSize(), dst, 0, dst.byteSize());
                out.printf(Locale.ROOT, "self-test     %s: 1 MiB WRITE + notification between two agents %s%n", backend,
                    same ? "ok" : "CORRUPTED");
                if (!same)
                {
                    failures.add(backend + " self-test moved corrupted data");
                }
            }
            catch (final RuntimeException ex)
            {
                out.printf("self-test     %s: failed: %s%n", backend, ex.getMessage());
                failures.add(backend + " self-test failed: " + ex.getMessage());
            }
        }
        if (Agent.availableBackends().contains("FILE"))
        {
            fileSelfTest(out);
        }
    }

    /** FILE: 1 MiB written to a file in the temporary directory and read back; says which engine and mode ran. */
    private void fileSelfTest(final PrintWriter out)
    {
        java.nio.file.Path file = null;
        try (Arena arena = Arena.ofShared(); Agent a = Agent.create(config("doctor-file", "FILE")))
        {
            file = java.nio.file.Files.createTempFile("ferry-doctor", ".bin");
            final MemorySegment src = arena.allocate(1 << 20, 4096);
            final MemorySegment dst = arena.allocate(1 << 20, 4096);
            src.fill((byte)0x3C);
            a.register(MemoryKind.DRAM, List.of(Region.of(src), Region.of(dst)));
            a.register(MemoryKind.FILE, List.of(io.ferry.file.FileRegions.of(file, 1,
                io.ferry.file.FileRegions.FileAccess.READ_WRITE)));
            final DescList onFile = DescList.builder(MemoryKind.FILE).add(0, 1 << 20, 1).build();
            for (final TransferOp op : new TransferOp[] {TransferOp.WRITE, TransferOp.READ})
            {
                final Transfer t = a.createTransfer(op, DescList.dram(TransferOp.WRITE == op ? src : dst), onFile,
                    a.name(), TransferOptions.NONE);
                t.post();
                t.await(Duration.ofSeconds(10));
            }
            final Transfer probe = a.createTransfer(TransferOp.READ, DescList.dram(dst), onFile, a.name(),
                TransferOptions.NONE);
            probe.post();
            probe.await(Duration.ofSeconds(10));
            final boolean same = -1 == MemorySegment.mismatch(src, 0, src.byteSize(), dst, 0, dst.byteSize());
            out.printf(Locale.ROOT, "self-test     FILE: 1 MiB WRITE to a file and READ back %s (%s, in %s)%n",
                same ? "ok" : "CORRUPTED", probe.telemetry().route(), file.getParent());
            if (!same)
            {
                failures.add("FILE self-test read back other bytes than it wrote");
            }
        }
        catch (final RuntimeException | java.io.IOException ex)
        {
            out.printf("self-test     FILE: failed: %s%n", ex.getMessage());
            failures.add("FILE self-test failed: " + ex.getMessage());
        }
        finally
        {
            if (null != file)
            {
                try
                {
                    java.nio.file.Files.deleteIfExists(file);
                }
                catch (final java.io.IOException ex)
                {
                    // a temporary file left behind
                }
            }
        }
    }

    private static AgentConfig config(final String name, final String backend)
    {
        return CliAgents.config(name, backend).defaultTimeout(Duration.ofSeconds(10)).build();
    }

    private String read(final String relative)
    {
        // an input stream, not Files.readString: procfs reports size 0 and readString returned one byte of it
        try (java.io.InputStream in = Files.newInputStream(root.resolve(relative)))
        {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim()
                .replaceAll("\\s+", " ");
        }
        catch (final IOException | RuntimeException ex)
        {
            return null;
        }
    }

    private List<String> list(final String relative)
    {
        try (Stream<Path> s = Files.list(root.resolve(relative)))
        {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        catch (final IOException | RuntimeException ex)
        {
            return List.of();
        }
    }
}
