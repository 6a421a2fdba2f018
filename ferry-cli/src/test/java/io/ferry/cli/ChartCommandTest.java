package io.ferry.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ferry chart} draws a PNG from category,series,value rows and names a bad row. */
@Timeout(60)
class ChartCommandTest
{
    @Test
    void drawsAGroupedBarChart(@TempDir final Path dir) throws Exception
    {
        final Path csv = dir.resolve("d.csv");
        Files.writeString(csv, "scenario,config,value\nidle,(i) one path,0\ncross-traffic,(i) one path,35.3\n" +
            "cross-traffic,(iii) four paths,7.1\n");
        final Path png = dir.resolve("c.png");
        final CliRun r = CliRun.of("chart", "--csv", csv.toString(), "--out", png.toString(), "--title", "t");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(java.util.Arrays.copyOf(Files.readAllBytes(png), 4)).containsExactly(0x89, 'P', 'N', 'G');
    }

    @Test
    void aBadRowIsNamed(@TempDir final Path dir) throws Exception
    {
        final Path csv = dir.resolve("d.csv");
        Files.writeString(csv, "h\nonly,two\n");
        final CliRun r = CliRun.of("chart", "--csv", csv.toString(), "--out", dir.resolve("c.png").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("line 2: expected category,series,value");
    }

    @Test
    void aCsvWithoutRowsIsRefusedByName(@TempDir final Path dir) throws Exception
    {
        final Path csv = dir.resolve("empty.csv");
        Files.writeString(csv, "scenario,config,value\n");
        final Path png = dir.resolve("c.png");
        final CliRun r = CliRun.of("chart", "--csv", csv.toString(), "--out", png.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("empty.csv has no data rows");
        assertThat(png).doesNotExist();
    }
}
