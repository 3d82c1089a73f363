using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Kiov.Iov;

namespace Kiov.Bench;

/// <summary>
/// The seed thread's comparison (issue 5): the 2017 <c>iov_iter_get_pages_alloc</c>, Jeff Layton's v3,
/// Al Viro's proposed primitive and <c>iov_iter_extract_pages</c>, each moving a whole request of four
/// shapes into pages and releasing them. Besides the time per request, the columns give ns per page,
/// managed bytes allocated per MiB, and the counted API calls and batches per MiB
/// (<see cref="BatchComparison.Rows"/>).
/// Run: <c>dotnet run -c Release --project bench/Kiov.Bench -- --filter '*Batch*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
public class BatchBench
{
    private BatchWorkload _work = null!;

    /// <summary>The request.</summary>
    [ParamsAllValues]
    public BatchShape Shape { get; set; }

    /// <summary>The method (not named Method: BenchmarkDotNet's own column has that name).</summary>
    [ParamsAllValues]
    public BatchMethod Approach { get; set; }

    /// <summary>Builds the request's machine.</summary>
    [GlobalSetup]
    public void Setup() => _work = new BatchWorkload(Shape);

    /// <summary>Frees it.</summary>
    [GlobalCleanup]
    public void Cleanup() => _work.Dispose();

    /// <summary>One whole request through the method (pages taken, then released).</summary>
    [Benchmark]
    public int Move() => _work.Run(Approach).Batches;

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new PerPage(), new PerMiB("Alloc B/MiB", k => k.Alloc), new PerMiB("Calls/MiB", k => k.Calls), new PerMiB("Batches/MiB", k => k.Batches));
    }

    private readonly record struct Facts(int Pages, ulong Bytes, Dictionary<BatchMethod, BatchComparisonRow> Rows);

    private static readonly Lazy<Dictionary<BatchShape, Facts>> s_facts = new(() =>
    {
        var rows = BatchComparison.Rows();
        var facts = new Dictionary<BatchShape, Facts>();
        foreach (BatchShape shape in Enum.GetValues<BatchShape>())
        {
            using var w = new BatchWorkload(shape);
            facts[shape] = new Facts(w.Pages, w.Bytes, rows.Where(r => r.Shape == shape).ToDictionary(r => r.Method));
        }
        return facts;
    });

    private static (BatchShape Shape, BatchMethod Method) Case(BenchmarkCase c) =>
        ((BatchShape)c.Parameters["Shape"], (BatchMethod)c.Parameters["Approach"]);

    private abstract class Column(string name) : IColumn
    {
        public string Id => name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => name;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
        public abstract string GetValue(Summary summary, BenchmarkCase benchmarkCase);
    }

    // The mean time per request divided by the pages the request touches.
    private sealed class PerPage() : Column("ns/page")
    {
        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return mean is double m ? (m / s_facts.Value[Case(benchmarkCase).Shape].Pages).ToString("F1") : "-";
        }
    }

    private readonly record struct Kinds(double Alloc, double Calls, double Batches);

    private sealed class PerMiB(string name, Func<Kinds, double> pick) : Column(name)
    {
        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var (shape, method) = Case(benchmarkCase);
            Facts f = s_facts.Value[shape];
            BatchComparisonRow row = f.Rows[method];
            long? alloc = summary[benchmarkCase]?.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
            double allocPerMiB = alloc is long a ? a * (1 << 20) / (double)f.Bytes : double.NaN;
            return pick(new Kinds(allocPerMiB, row.CallsPerMiB, row.BatchesPerMiB)).ToString("F0");
        }
    }
}
