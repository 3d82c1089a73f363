namespace Kiov.Cli.Bench;

/// <summary>One side of a throughput cell.</summary>
/// <param name="GBPerSecond">Bytes of the segment per second of a round, in 10^9 (median).</param>
/// <param name="NsPerCall">Nanoseconds per round (median).</param>
/// <param name="Spread">Half the interquartile range of the batch times, as a fraction of the median.</param>
/// <param name="Batches">Batches measured.</param>
/// <param name="Steady">True when warm-up reached steady timing with the JIT quiet.</param>
/// <param name="AllocatedBytesPerRound">Managed bytes the measured rounds allocated, per round.</param>
internal sealed record SideResult(double GBPerSecond, double NsPerCall, double Spread, int Batches, bool Steady, double AllocatedBytesPerRound)
{
    public static SideResult From(Timing t, long bytes) =>
        new(bytes / t.Median / 1e9, t.Median * 1e9, t.Spread, t.Batches, t.Steady, t.AllocatedPerRound);
}

/// <summary>A throughput cell: one workload at one segment size on the three sides.</summary>
internal sealed record ThroughputResult(string Workload, int SegmentBytes, SideResult Model, SideResult Host, SideResult Memcpy)
{
    /// <summary>Model speed / host speed: above 1, the model is faster.</summary>
    public double ModelOverHost => Model.GBPerSecond / Host.GBPerSecond;

    /// <summary>Model speed / memcpy speed: the share of the ceiling the model reaches.</summary>
    public double ModelOverMemcpy => Model.GBPerSecond / Memcpy.GBPerSecond;
}

/// <summary>A page cell (model only).</summary>
internal sealed record PagesResult(string Workload, int PagesPerCall, double NsPerPage, double Spread, bool Steady, double AllocatedBytesPerRound);

/// <summary>Everything one <c>kiov bench</c> run measured.</summary>
internal sealed record BenchResults(string HostKernel, int Cores, bool Quick, IReadOnlyList<ThroughputResult> Throughput, IReadOnlyList<PagesResult> Pages);
