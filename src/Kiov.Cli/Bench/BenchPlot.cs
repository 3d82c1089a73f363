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
        var panels = new List<Plot>();
        foreach (var workload in r.Throughput.Select(t => t.Workload).Distinct())
            panels.Add(ThroughputPanel(workload, [.. r.Throughput.Where(t => t.Workload == workload)], r.HostKernel));
        if (r.Pages.Count > 0) panels.Add(PagesPanel(r.Pages));
        int columns = Math.Min(2, panels.Count), rows = (panels.Count + columns - 1) / Math.Max(columns, 1);
        int width = Math.Max(columns, 1) * PanelWidth, height = Math.Max(rows, 1) * PanelHeight;
        if (Path.GetExtension(path).Equals(".svg", StringComparison.OrdinalIgnoreCase))
        {
            var svg = new MemoryStream();
            using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), svg))
                Draw(canvas, panels, columns);
            // Each panel first clears the page with a transparent colour, which Skia's SVG writer
            // puts down as a <rect> with no fill attribute: black in SVG. The clear has no effect on
            // a bitmap, so it is dropped here too.
            string text = System.Text.Encoding.UTF8.GetString(svg.ToArray());
            text = System.Text.RegularExpressions.Regex.Replace(text, @"\s*<rect width=""[0-9.]+"" height=""[0-9.]+""/>", "");
            File.WriteAllText(path, text);
        }
        else
        {
            using var file = File.Create(path);
            using var surface = SKSurface.Create(new SKImageInfo(width, height));
            Draw(surface.Canvas, panels, columns);
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            data.SaveTo(file);
        }
    }

    // The panels on a white page, left to right and top to bottom.
    private static void Draw(SKCanvas canvas, List<Plot> panels, int columns)
    {
        canvas.Clear(SKColors.White);
        for (int i = 0; i < panels.Count; i++)
        {
            float left = i % columns * PanelWidth, top = i / columns * PanelHeight;
            panels[i].Render(canvas, new PixelRect(left, left + PanelWidth, top + PanelHeight, top));
        }
    }

    private static Plot ThroughputPanel(string workload, ThroughputResult[] cells, string hostKernel)
    {
        var plot = new Plot();
        double[] xs = [.. cells.Select(c => Math.Log2(c.SegmentBytes))];
        AddLine(plot, xs, [.. cells.Select(c => Math.Log10(c.Model.GBPerSecond))], "model (Kiov)", Colors.Blue);
        AddLine(plot, xs, [.. cells.Select(c => Math.Log10(c.Host.GBPerSecond))], $"host (Linux {hostKernel})", Colors.OrangeRed);
        AddLine(plot, xs, [.. cells.Select(c => Math.Log10(c.Memcpy.GBPerSecond))], "memcpy (ceiling)", Colors.Gray);
        plot.Title(workload);
        plot.XLabel("segment size (one segment a call)");
        plot.YLabel("GB/s (log scale)");
        plot.Axes.Bottom.TickGenerator = SizeTicks(cells.Select(c => (long)c.SegmentBytes), BenchRunner.SizeText);
        double low = cells.Min(c => Math.Min(c.Memcpy.GBPerSecond, Math.Min(c.Model.GBPerSecond, c.Host.GBPerSecond)));
        double high = cells.Max(c => Math.Max(c.Memcpy.GBPerSecond, Math.Max(c.Model.GBPerSecond, c.Host.GBPerSecond)));
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
                group.Key + " (model)", colors[i++ % colors.Length]);
        }
        plot.Title("page calls (model only)");
        plot.XLabel("pages a call");
        plot.YLabel("ns per page");
        plot.Axes.Bottom.TickGenerator = SizeTicks(pages.Select(p => (long)p.PagesPerCall).Distinct(), n => n.ToString());
        plot.Axes.SetLimitsY(0, pages.Max(p => p.NsPerPage) * 1.15);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    // Solid lines only: Skia's SVG writer cannot draw a dash pattern (and says so on stderr).
    private static void AddLine(Plot plot, double[] xs, double[] ys, string label, Color color)
    {
        var line = plot.Add.Scatter(xs, ys, color);
        line.LegendText = label;
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
