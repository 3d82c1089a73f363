using ScottPlot;
using SkiaSharp;

namespace Kiov.Cli.Bench;

/// <summary>
/// <c>kiov bench --plot FILE</c>: one panel per throughput workload (GB/s against the segment size,
/// for the model, the host kernel and memcpy, the size on a log scale) and one for the model's page
/// calls (ns per page against pages per call), written as SVG or PNG by the file's extension.
/// </summary>
internal static class BenchPlot
{
    private const int PanelWidth = 560, PanelHeight = 380;

    /// <summary>Checks that <paramref name="path"/> names an SVG or PNG file (before any work is done).</summary>
    public static void CheckPath(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".svg" or ".png"))
            throw new ToolInputException($"--plot {path}: the file must end in .svg or .png");
    }

    /// <summary>Draws the results into <paramref name="path"/>.</summary>
    public static void Save(BenchResults r, string path)
    {
        CheckPath(path);
        var multiplot = new Multiplot();
        multiplot.Subplots.RemoveAt(0); // the empty plot a new Multiplot starts with
        foreach (var workload in r.Throughput.Select(t => t.Workload).Distinct())
            multiplot.Subplots.Add(ThroughputPanel(workload, [.. r.Throughput.Where(t => t.Workload == workload)], r.HostKernel));
        if (r.Pages.Count > 0) multiplot.Subplots.Add(PagesPanel(r.Pages));
        int columns = 2, rows = (multiplot.Subplots.Count + 1) / 2;
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        int width = columns * PanelWidth, height = rows * PanelHeight;
        var rect = new PixelRect(0, width, height, 0);
        using var file = File.Create(path);
        if (Path.GetExtension(path).Equals(".svg", StringComparison.OrdinalIgnoreCase))
        {
            using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), file))
                multiplot.Render(canvas, rect);
        }
        else
        {
            using var surface = SKSurface.Create(new SKImageInfo(width, height));
            surface.Canvas.Clear(SKColors.White);
            multiplot.Render(surface.Canvas, rect);
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            data.SaveTo(file);
        }
    }

    private static Plot ThroughputPanel(string workload, ThroughputResult[] cells, string hostKernel)
    {
        var plot = new Plot();
        double[] xs = [.. cells.Select(c => Math.Log2(c.SegmentBytes))];
        AddLine(plot, xs, [.. cells.Select(c => Math.Log10(c.Model.GBps))], "model (Kiov)", Colors.Blue, LinePattern.Solid);
        AddLine(plot, xs, [.. cells.Select(c => Math.Log10(c.Host.GBps))], $"host (Linux {hostKernel})", Colors.OrangeRed, LinePattern.Solid);
        AddLine(plot, xs, [.. cells.Select(c => Math.Log10(c.Memcpy.GBps))], "memcpy (ceiling)", Colors.Gray, LinePattern.Dashed);
        plot.Title(workload);
        plot.XLabel("segment size (one segment a call)");
        plot.YLabel("GB/s (log scale)");
        plot.Axes.Bottom.TickGenerator = SizeTicks(cells.Select(c => (long)c.SegmentBytes), BenchRunner.SizeText);
        double low = cells.Min(c => Math.Min(c.Memcpy.GBps, Math.Min(c.Model.GBps, c.Host.GBps)));
        double high = cells.Max(c => Math.Max(c.Memcpy.GBps, Math.Max(c.Model.GBps, c.Host.GBps)));
        plot.Axes.Left.TickGenerator = RateTicks(low, high);
        plot.Axes.SetLimitsY(Math.Log10(low) - 0.1, Math.Log10(high) + 0.1);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot PagesPanel(IReadOnlyList<PagesResult> pages)
    {
        var plot = new Plot();
        Color[] colors = [Colors.Blue, Colors.Green];
        int i = 0;
        foreach (var group in pages.GroupBy(p => p.Workload))
        {
            PagesResult[] cells = [.. group];
            AddLine(plot, [.. cells.Select(c => Math.Log2(c.PagesPerCall))], [.. cells.Select(c => c.NsPerPage)],
                group.Key + " (model)", colors[i++ % colors.Length], LinePattern.Solid);
        }
        plot.Title("page calls (model only)");
        plot.XLabel("pages a call");
        plot.YLabel("ns per page");
        plot.Axes.Bottom.TickGenerator = SizeTicks(pages.Select(p => (long)p.PagesPerCall).Distinct(), n => n.ToString());
        plot.Axes.SetLimitsY(0, pages.Max(p => p.NsPerPage) * 1.15);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static void AddLine(Plot plot, double[] xs, double[] ys, string label, Color color, LinePattern pattern)
    {
        var line = plot.Add.Scatter(xs, ys, color);
        line.LegendText = label;
        line.LinePattern = pattern;
        line.LineWidth = 2;
        line.MarkerSize = 7;
    }

    // 1-2-5 steps on a log10 axis.
    private static ScottPlot.TickGenerators.NumericManual RateTicks(double low, double high)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (double decade = Math.Pow(10, Math.Floor(Math.Log10(low))); decade <= high; decade *= 10)
            foreach (double step in new[] { 1.0, 2.0, 5.0 })
            {
                double v = decade * step;
                if (v >= low / 1.3 && v <= high * 1.3) ticks.AddMajor(Math.Log10(v), v.ToString("0.###"));
            }
        return ticks;
    }

    private static ScottPlot.TickGenerators.NumericManual SizeTicks(IEnumerable<long> values, Func<long, string> text)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (long v in values.Distinct()) ticks.AddMajor(Math.Log2(v), text(v));
        return ticks;
    }
}
