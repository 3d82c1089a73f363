using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kiov.Cli.Bench;

/// <summary>The bench's results as a table a newcomer reads at once, or as JSON.</summary>
internal static class BenchTable
{
    /// <summary>Writes the throughput and page tables, each with what its columns mean.</summary>
    public static void Write(TextWriter o, BenchResults r)
    {
        o.WriteLine($"kiov bench{(r.Quick ? " --quick (short warm-up: rough figures)" : "")}: model = Kiov's kernel in this process; " +
                    $"host = Linux {r.HostKernel}, the same calls as real system calls on this process's own buffers; {r.Cores} cores");
        o.WriteLine("each call moves one segment; every side warmed until the JIT is quiet and batch times agree, then timed in alternation until the median settles;");
        o.WriteLine("time is this thread's CPU time (user + system), so the load of other processes does not count and the host kernel's work does");
        o.WriteLine();
        o.WriteLine($"{"workload",-26} {"segment",8} {"model GB/s",11} {"host GB/s",10} {"model/host",11} {"memcpy GB/s",12} {"model/memcpy",13} {"spread",7}");
        foreach (var t in r.Throughput)
        {
            double spread = Math.Max(t.Model.Spread, Math.Max(t.Host.Spread, t.Memcpy.Spread));
            bool steady = t.Model.Steady && t.Host.Steady && t.Memcpy.Steady;
            o.WriteLine($"{t.Workload,-26} {BenchRunner.SizeText(t.SegmentBytes),8} {t.Model.GBPerSecond,11:F2} {t.Host.GBPerSecond,10:F2} {t.ModelOverHost,10:F2}x " +
                        $"{t.Memcpy.GBPerSecond,12:F2} {t.ModelOverMemcpy,13:F2} {"±" + (spread * 100).ToString("F0") + "%",7}{(steady ? "" : " (not steady)")}");
        }
        o.WriteLine();
        o.WriteLine("GB/s: bytes of the segment delivered per second (10^9 bytes), median of the batches");
        o.WriteLine("model/host: model speed / host speed; above 1 the model is faster");
        o.WriteLine("memcpy GB/s: the same bytes copied as often as the call copies them (twice through a pipe or a file), in this run: the ceiling");
        o.WriteLine("spread: half the interquartile range of the batch times, the widest of the three sides");
        o.WriteLine();
        o.WriteLine("model only (a user cannot call these on the host): 1024 populated pages taken and released per round");
        o.WriteLine($"{"calls",-40} {"pages/call",10} {"ns/page",8} {"spread",7}");
        foreach (var p in r.Pages)
            o.WriteLine($"{p.Workload,-40} {p.PagesPerCall,10} {p.NsPerPage,8:F1} {"±" + (p.Spread * 100).ToString("F0") + "%",7}{(p.Steady ? "" : " (not steady)")}");
        double alloc = r.Throughput.Select(t => t.Model.AllocatedBytesPerRound).DefaultIfEmpty(0).Max();
        alloc = Math.Max(alloc, r.Pages.Select(p => p.AllocatedBytesPerRound).DefaultIfEmpty(0).Max());
        o.WriteLine();
        o.WriteLine($"managed bytes the model allocated per measured round, at most: {alloc:F1}");
    }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The results as JSON (camelCase names; the ratios included).</summary>
    public static string Json(BenchResults r) => JsonSerializer.Serialize(new
    {
        r.HostKernel,
        r.Cores,
        r.Quick,
        Throughput = r.Throughput.Select(t => new
        {
            t.Workload, t.SegmentBytes, t.Model, t.Host, t.Memcpy, t.ModelOverHost, t.ModelOverMemcpy,
        }),
        r.Pages,
    }, Options);
}
