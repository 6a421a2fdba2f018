package io.ferry.cli;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Draws a bench sweep into a PNG with XChart: bandwidth (left axis) and p99 transfer latency (right axis) against
 * block size (log scale), one pair of lines per batch size.
 */
final class BenchPlot
{
    private BenchPlot()
    {
    }

    static void write(final Path file, final List<BenchCommand.Point> points, final String title) throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        final XYChart chart = new XYChartBuilder().width(1000).height(600).title("ferry bench: " + title)
            .xAxisTitle("block size (bytes)").yAxisTitle("GB/s").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.setYAxisGroupTitle(1, "p99 transfer latency (us)");
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        final TreeSet<Integer> batches = new TreeSet<>();
        points.forEach(p -> batches.add(p.batch()));
        for (final int batch : batches)
        {
            final List<Double> x = new ArrayList<>();
            final List<Double> gbps = new ArrayList<>();
            final List<Double> p99 = new ArrayList<>();
            for (final BenchCommand.Point p : points)
            {
                if (p.batch() == batch)
                {
                    x.add((double)p.block());
                    gbps.add(p.gbps());
                    p99.add(p.xfer()[1]);
                }
            }
            final XYSeries bw = chart.addSeries("GB/s, batch " + batch, x, gbps);
            bw.setMarker(SeriesMarkers.CIRCLE);
            final XYSeries lat = chart.addSeries("p99 us, batch " + batch, x, p99);
            lat.setYAxisGroup(1);
            lat.setMarker(SeriesMarkers.DIAMOND);
        }
        String name = file.toString();
        if (name.toLowerCase(java.util.Locale.ROOT).endsWith(".png"))
        {
            name = name.substring(0, name.length() - 4);
        }
        BitmapEncoder.saveBitmap(chart, name, BitmapEncoder.BitmapFormat.PNG);
    }
}
