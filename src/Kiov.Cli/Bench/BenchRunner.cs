namespace Kiov.Cli.Bench;

/// <summary>Runs every workload of <see cref="BenchWorkloads"/> through <see cref="BenchSampler"/>.</summary>
internal static class BenchRunner
{
    /// <summary>Measures everything; <paramref name="progress"/> gets a line per cell (or nothing).</summary>
    /// <param name="quick">A short warm-up and few batches.</param>
    /// <param name="filter">Only the workloads whose name contains this (any case), or one of its
    /// '|'-separated words; null for all.</param>
    /// <param name="progress">Where a line per cell goes, or null.</param>
    public static BenchResults Run(bool quick, string? filter, TextWriter? progress)
    {
        SamplerSettings s = quick ? SamplerSettings.Quick : SamplerSettings.Full;
        var throughput = new List<ThroughputResult>();
        foreach (var w in BenchWorkloads.Throughput.Where(w => Selected(w.Name, filter)))
            foreach (int size in BenchWorkloads.SegmentSizes)
            {
                progress?.WriteLine($"kiov bench: {w.Name}, {SizeText(size)}");
                using var model = w.Model(size);
                using var host = w.Host(size);
                using var memcpy = new MemcpyRound(size, w.CopiesPerRound == 2);
                Timing[] t = BenchSampler.Measure([model, host, memcpy], s);
                throughput.Add(new ThroughputResult(w.Name, size,
                    SideResult.From(t[0], size), SideResult.From(t[1], size), SideResult.From(t[2], size)));
            }
        var pages = new List<PagesResult>();
        foreach (var w in BenchWorkloads.Pages.Where(w => Selected(w.Name, filter)))
            foreach (int perCall in BenchWorkloads.PagesPerCall)
            {
                progress?.WriteLine($"kiov bench: {w.Name}, {perCall} page(s) a call");
                using var round = new ModelPagesRound(perCall, w.Pin);
                Timing t = BenchSampler.Measure([round], s)[0];
                pages.Add(new PagesResult(w.Name, perCall, t.Median * 1e9 / ModelPagesRound.PagesPerRound, t.Spread, t.Steady, t.AllocatedPerRound));
            }
        return new BenchResults(KernelRelease.Current, Environment.ProcessorCount, quick, throughput, pages);
    }

    private static bool Selected(string name, string? filter) =>
        filter == null || filter.Split('|', StringSplitOptions.RemoveEmptyEntries)
            .Any(word => name.Contains(word, StringComparison.OrdinalIgnoreCase));

    /// <summary>A size as the table writes it: 512 B, 4 KiB, 1 MiB.</summary>
    public static string SizeText(long bytes) =>
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB"
        : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? $"{bytes >> 10} KiB"
        : $"{bytes} B";
}
