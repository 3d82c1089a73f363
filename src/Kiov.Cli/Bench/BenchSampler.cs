using System.Diagnostics;
using System.Runtime;

namespace Kiov.Cli.Bench;

/// <summary>How long the sampler warms and measures.</summary>
/// <param name="BatchSeconds">The time one timed batch of rounds should take.</param>
/// <param name="MinWarmSeconds">Warm at least this long: past the runtime's 100 ms call-counting
/// delay, so that the hot methods are recompiled at their final tier.</param>
/// <param name="QuietJitSeconds">Warm until no method has been compiled for this long.</param>
/// <param name="MaxWarmSeconds">Give up warming (and say so) after this long.</param>
/// <param name="MinBatches">Measure at least this many batches of each side.</param>
/// <param name="MaxBatches">And at most this many, even if the median still moves.</param>
internal sealed record SamplerSettings(double BatchSeconds, double MinWarmSeconds, double QuietJitSeconds,
    double MaxWarmSeconds, int MinBatches, int MaxBatches)
{
    /// <summary>The full run.</summary>
    public static SamplerSettings Full { get; } = new(0.002, 0.3, 0.15, 4.0, 15, 60);

    /// <summary>A short run for smoke tests: the figures are rough.</summary>
    public static SamplerSettings Quick { get; } = new(0.0002, 0.01, 0.0, 0.05, 3, 4);
}

/// <summary>What the sampler found for one side of a cell: seconds per round over the measured
/// batches (median, quartiles, extremes), whether warm-up reached steady timing, and the bytes the
/// measured rounds allocated on this thread, per round.</summary>
internal sealed record Timing(double Median, double P25, double P75, double Min, double Max, int Batches,
    long RoundsPerBatch, bool Steady, double AllocatedPerRound)
{
    /// <summary>Half the interquartile range, as a fraction of the median.</summary>
    public double Spread => Median > 0 ? (P75 - P25) / 2 / Median : 0;
}

/// <summary>
/// Times the sides of one cell: each is warmed, the rounds per batch doubled until a batch takes
/// <see cref="SamplerSettings.BatchSeconds"/>, until the JIT has gone quiet (no method compiled for
/// a while: the code runs at its final tier) and successive batch times agree; then
/// the sides are measured in turn, batch after batch (so that noise from other processes falls on
/// all of them alike), until each side's median stops moving.
/// </summary>
internal static class BenchSampler
{
    /// <summary>Measures every side of a cell; returns one timing per side, in order.</summary>
    /// <param name="sides">The sides, set up.</param>
    /// <param name="s">How long to warm and measure.</param>
    public static Timing[] Measure(IReadOnlyList<IBenchRound> sides, SamplerSettings s)
    {
        int n = sides.Count;
        var rounds = new long[n];
        var steady = new bool[n];
        for (int i = 0; i < n; i++) steady[i] = Warm(sides[i], s, out rounds[i]);
        var times = new List<double>[n];
        var alloc = new long[n];
        for (int i = 0; i < n; i++) times[i] = [];
        for (int b = 0; b < s.MaxBatches; b++)
        {
            for (int i = 0; i < n; i++)
            {
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                double t = TimeBatch(sides[i], rounds[i]);
                alloc[i] += GC.GetAllocatedBytesForCurrentThread() - a0;
                times[i].Add(t / rounds[i]);
            }
            if (b + 1 >= s.MinBatches && times.All(MedianSettled)) break;
        }
        var result = new Timing[n];
        for (int i = 0; i < n; i++)
        {
            double[] t = [.. times[i].Order()];
            result[i] = new Timing(Quantile(t, 0.5), Quantile(t, 0.25), Quantile(t, 0.75), t[0], t[^1], t.Length,
                rounds[i], steady[i], alloc[i] / (double)(rounds[i] * t.Length));
        }
        return result;
    }

    // Warms until the JIT is quiet and the last five batches agree with the five before within 3%,
    // doubling the rounds per batch (and starting the comparison again) while a batch takes less
    // than half the time wanted: the code gets faster as it warms.
    private static bool Warm(IBenchRound side, SamplerSettings s, out long rounds)
    {
        var recent = new List<double>();
        long start = Stopwatch.GetTimestamp(), lastCompile = start;
        long compiled = JitInfo.GetCompiledMethodCount();
        rounds = 1;
        while (true)
        {
            double t = TimeBatch(side, rounds);
            if (t < s.BatchSeconds / 2 && rounds < 1L << 30)
            {
                rounds *= 2;
                recent.Clear();
            }
            else recent.Add(t / rounds);
            long now = Stopwatch.GetTimestamp();
            long c = JitInfo.GetCompiledMethodCount();
            if (c != compiled) { compiled = c; lastCompile = now; }
            double warmed = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
            bool quiet = Stopwatch.GetElapsedTime(lastCompile, now).TotalSeconds >= s.QuietJitSeconds;
            if (warmed >= s.MinWarmSeconds && quiet && Agree(recent)) return true;
            if (warmed >= s.MaxWarmSeconds) return false;
        }
    }

    private static bool Agree(List<double> t)
    {
        if (t.Count < 10) return false;
        double last = Median(t.GetRange(t.Count - 5, 5)), before = Median(t.GetRange(t.Count - 10, 5));
        return Math.Abs(last - before) <= 0.03 * before;
    }

    // The median with the last three batches is within 1% of the median without them.
    private static bool MedianSettled(List<double> t) =>
        t.Count >= 6 && Math.Abs(Median(t) - Median(t.GetRange(0, t.Count - 3))) <= 0.01 * Median(t);

    // The batch's time is the thread's CPU time (user and system): on a machine shared with other
    // work, time spent preempted is not the code's, while the host kernel's time in the calls is.
    private static double TimeBatch(IBenchRound side, long rounds)
    {
        double t0 = BenchLibc.ThreadCpuSeconds();
        for (long r = 0; r < rounds; r++) side.Run();
        return BenchLibc.ThreadCpuSeconds() - t0;
    }

    private static double Median(List<double> t) => Quantile([.. t.Order()], 0.5);

    private static double Quantile(double[] sorted, double q)
    {
        double at = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(at), hi = (int)Math.Ceiling(at);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
    }
}
