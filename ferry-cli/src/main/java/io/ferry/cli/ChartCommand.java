package io.ferry.cli;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code ferry chart}: a grouped bar chart PNG from a CSV of {@code category,series,value} rows (the resilience
 * benchmark draws its latency increases with it).
 */
@Command(name = "chart", mixinStandardHelpOptions = true,
    description = "Draw a grouped bar chart PNG from CSV rows 'category,series,value' (first line: a header).")
final class ChartCommand implements Callable<Integer>
{
    @Option(names = "--csv", required = true, description = "the data.")
    Path csv;

    @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "the PNG to write.")
    Path out;

    @Option(names = "--title", defaultValue = "", description = "the chart's title.")
    String title;

    @Option(names = "--y-title", defaultValue = "", description = "the value axis' title.")
    String yTitle;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public Integer call() throws Exception
    {
        final List<String> rows = Files.readAllLines(csv);
        final List<String> categories = new ArrayList<>();
        final Map<String, Map<String, Double>> series = new LinkedHashMap<>();
        for (int i = 1; i < rows.size(); i++)
        {
            final String[] f = rows.get(i).split(",");
            if (3 != f.length)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), csv + " line " + (i + 1) +
                    ": expected category,series,value, got '" + rows.get(i) + "'");
            }
            if (!categories.contains(f[0]))
            {
                categories.add(f[0]);
            }
            series.computeIfAbsent(f[1], k -> new LinkedHashMap<>()).put(f[0], Double.parseDouble(f[2]));
        }
        if (series.isEmpty())
        {
            throw new CommandLine.ParameterException(spec.commandLine(), csv + " has no data rows (only " +
                rows.size() + " line" + (1 == rows.size() ? "" : "s") + "): nothing to draw");
        }
        System.setProperty("java.awt.headless", "true");
        final CategoryChart chart = new CategoryChartBuilder().width(1100).height(600).title(title)
            .yAxisTitle(yTitle).build();
        for (final Map.Entry<String, Map<String, Double>> e : series.entrySet())
        {
            final List<Double> values = new ArrayList<>();
            for (final String c : categories)
            {
                values.add(e.getValue().getOrDefault(c, 0.0));
            }
            chart.addSeries(e.getKey(), categories, values);
        }
        String name = out.toString();
        if (name.toLowerCase(java.util.Locale.ROOT).endsWith(".png"))
        {
            name = name.substring(0, name.length() - 4);
        }
        BitmapEncoder.saveBitmap(chart, name, BitmapEncoder.BitmapFormat.PNG);
        spec.commandLine().getOut().println("chart written to " + out);
        return 0;
    }
}
