package io.ferry.connect;

import io.ferry.testing.TestData;

import io.ferry.Fixtures;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A connector in a child JVM for {@link TwoProcessConnectTest}, driven by lines on stdin; every answer ends with
 * a line "OK".
 * <pre>
 * readable SIZE SEED      makes SIZE bytes of SEED-filled memory readable, prints the metadata JSON
 * writable SIZE           makes SIZE zeroed bytes writable, prints the metadata JSON
 * await SECONDS           waits for the last readable/writable, prints "COMPLETE crc" or "ERRORED code message"
 * read JSON               reads that readable into new memory, prints "COMPLETE crc"
 * write SEED JSON         writes SEED-filled memory into that writable, prints "COMPLETE crc"
 * write-nowait SEED JSON  begins that write and prints "BEGUN" at once
 * exit
 * </pre>
 */
public final class ConnectPeerMain
{
    private ConnectPeerMain()
    {
    }

    static long crc(final MemorySegment s)
    {
        final CRC32C c = new CRC32C();
        c.update(s.asByteBuffer());
        return c.getValue();
    }

    /**
     * @param args the connector name.
     * @throws Exception on any failure (the parent sees the process end).
     */
    public static void main(final String[] args) throws Exception
    {
        final Arena arena = Arena.ofShared();
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Connector c = Connector.create(args[0]))
        {
            System.out.println("READY");
            Operation last = null;
            MemorySegment lastMemory = null;
            String line;
            while (null != (line = in.readLine()))
            {
                final String[] w = line.split(" ", 3);
                try
                {
                    switch (w[0])
                    {
                        case "exit" ->
                        {
                            return;
                        }
                        case "readable", "writable" ->
                        {
                            lastMemory = arena.allocate(Long.parseLong(w[1]), 4096);
                            if ("readable".equals(w[0]))
                            {
                                TestData.fill(lastMemory, Long.parseLong(w[2]));
                                last = c.createReadable(List.of(Descriptor.of(lastMemory)));
                            }
                            else
                            {
                                last = c.createWritable(List.of(Descriptor.of(lastMemory)));
                            }
                            System.out.println(last.metadata().toJson());
                        }
                        case "await" ->
                        {
                            try
                            {
                                last.awaitCompletion(Duration.ofSeconds(Long.parseLong(w[1])));
                                System.out.println("COMPLETE " + crc(lastMemory));
                            }
                            catch (final io.ferry.FerryException ex)
                            {
                                System.out.println(last.status() + " " + ex.code() + " " + ex.getMessage());
                            }
                        }
                        case "read" ->
                        {
                            final TransferMetadata md = TransferMetadata.fromJson(line.substring(5));
                            final MemorySegment m = arena.allocate(md.totalBytes(), 4096);
                            try (Operation op = c.beginRead(md, List.of(Descriptor.of(m))))
                            {
                                op.awaitCompletion(Duration.ofSeconds(60));
                            }
                            System.out.println("COMPLETE " + crc(m));
                        }
                        case "write", "write-nowait" ->
                        {
                            final TransferMetadata md = TransferMetadata.fromJson(w[2]);
                            final MemorySegment m = arena.allocate(md.totalBytes(), 4096);
                            TestData.fill(m, Long.parseLong(w[1]));
                            final Operation op = c.beginWrite(List.of(Descriptor.of(m)), md);
                            if ("write-nowait".equals(w[0]))
                            {
                                System.out.println("BEGUN");
                            }
                            else
                            {
                                op.awaitCompletion(Duration.ofSeconds(60));
                                op.close();
                                System.out.println("COMPLETE " + crc(m));
                            }
                        }
                        default -> System.out.println("unknown command " + w[0]);
                    }
                }
                catch (final RuntimeException ex)
                {
                    System.out.println("ERROR " + ex);
                }
                System.out.println("OK");
            }
        }
    }
}
