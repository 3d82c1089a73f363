using Kiov.Cli.Commands;
using Kiov.Trace;
using Xunit.Abstractions;

namespace Kiov.Tests.Litmus;

/// <summary>Host par lines run their threads' calls concurrently in the kernel (each thread on a
/// thread of kiov-exec of its own), not one op at a time: outcomes that need two calls to overlap
/// appear. Overlap is a matter of timing, so its counts are reported, never asserted.</summary>
[Collection(Kiov.Tests.Trace.HostCollection.Name)]
public class HostOverlapTests(ITestOutputHelper output)
{
    private const int Bound = 2000;

    // The pipe's lock orders the calls' copies, so every outcome is one the model can list (a fill racing
    // a hash of the same page, as in sb-fill-hash, can show a page half written, which no model run does).
    [Fact]
    public void AReaderRacingTwoWritesOnTheHostShowsOnlyOutcomesTheModelAllows()
    {
        var report = new StringWriter();
        int rc = LitmusCommand.Run(LitmusTrace.Load(Path.Combine(LitmusModelTests.Dir, "pipe-reader-between-two-writes.jsonl"), () => Stream.Null), 300, 1000, report);
        output.WriteLine(report.ToString());
        Assert.True(rc == 0, report.ToString());
        Assert.Contains("ok: every host outcome is allowed by the model", report.ToString());
    }

    // hash-during-fill.jsonl: one fill of two pages races one hash of them. Run whole, the hash
    // sees both pages old or both new; any other hash needs the calls to overlap in the kernel.
    [Fact]
    public void AHashRacingAFillOfTheSamePagesOverlapsItOnTheHost()
    {
        LitmusTrace trace = LitmusTrace.Load(Path.Combine(LitmusModelTests.Dir, "hash-during-fill.jsonl"), () => Stream.Null);
        ulong whole = PagesHash(1), none = PagesHash(9); // the par line's fill, and the one before it
        var counts = new Dictionary<ulong, int>();
        int runs = 0, overlapped = 0;
        while (runs < Bound && (overlapped == 0 || runs < 200))
        {
            using var sys = new HostSyscalls();
            TraceResult par = default;
            foreach (TraceOp op in trace.Ops)
                par = op.Run(sys);
            TraceResult fill = par.Threads![0][0], hash = par.Threads[1][0];
            Assert.Equal((8192L, 8192L), (fill.Ret, hash.Ret));
            ulong h = hash.Hash!.Value;
            counts[h] = counts.GetValueOrDefault(h) + 1;
            runs++;
            if (h != whole && h != none) overlapped++;
        }
        output.WriteLine($"{runs} run(s): the hash saw the old pages {counts.GetValueOrDefault(none)} time(s), the new " +
                         $"{counts.GetValueOrDefault(whole)}, and overlapped the fill {overlapped} time(s) " +
                         $"({string.Join(", ", counts.Keys.Where(k => k != whole && k != none).Select(k => $"0x{k:x16}"))})");
    }

    // The hash of the two pages filled with `seed`.
    private static ulong PagesHash(uint seed)
    {
        byte[] pages = new byte[8192];
        FillPattern.Generate(seed, 0, pages);
        return Fnv1a64.Hash(pages);
    }
}
