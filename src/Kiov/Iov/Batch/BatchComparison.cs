using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

/// <summary>The request shapes of the seed thread's comparison (issue 5).</summary>
public enum BatchShape
{
    /// <summary>One page-aligned 1 MiB iovec.</summary>
    OneMiBIovec,
    /// <summary>256 page-aligned 4 KiB iovecs (not adjacent in memory): what NFS and ceph O_DIRECT see.</summary>
    AlignedIovecs256,
    /// <summary>1000 iovecs of 1000 bytes, each starting 8 bytes into a 1100-byte stride.</summary>
    MisalignedIovecs1000,
    /// <summary>256 one-page bvecs over pages no two of which are physically adjacent (a spliced pipe).</summary>
    Bvec256,
}

/// <summary>The ways of turning an iterator into pages that the comparison sets side by side.</summary>
public enum BatchMethod
{
    /// <summary>The 2017 <c>iov_iter_get_pages_alloc</c> (one segment, or one bvec page, per call), then an advance.</summary>
    Baseline2017,
    /// <summary>Jeff Layton's v3 patch 1/2 (<see cref="IovIter.GetPagesAllocV3"/>), then an advance.</summary>
    JeffV3,
    /// <summary>Al Viro's proposed primitive (<see cref="IovIter.ForEachPageBatch{TConsumer}"/>), one call.</summary>
    Primitive,
    /// <summary><c>iov_iter_extract_pages</c> (6.3+) allocating its array, up to 1024 pages per call.</summary>
    ExtractPages,
}

/// <summary>What one pass over a request cost.</summary>
/// <param name="Calls">Calls the caller made into the page-getting API.</param>
/// <param name="Batches">Page lists handed back (arrays returned, or batches given to the consumer).</param>
/// <param name="GupCalls">get/pin_user_pages calls underneath.</param>
/// <param name="Bytes">Bytes covered.</param>
internal readonly record struct BatchPass(int Calls, int Batches, long GupCalls, ulong Bytes);

/// <summary>One row of the comparison table, per MiB of request.</summary>
/// <param name="Shape">The request.</param>
/// <param name="Method">The method.</param>
/// <param name="CallsPerMiB">API calls the caller makes per MiB.</param>
/// <param name="BatchesPerMiB">Page lists handed back per MiB.</param>
/// <param name="GupCallsPerMiB">GUP calls underneath per MiB.</param>
/// <param name="AllocatedBytesPerMiB">Managed bytes allocated per MiB (after a warm-up pass; the least of three).</param>
internal readonly record struct BatchComparisonRow(BatchShape Shape, BatchMethod Method, double CallsPerMiB, double BatchesPerMiB, double GupCallsPerMiB, double AllocatedBytesPerMiB);

/// <summary>
/// One request of a <see cref="BatchShape"/> on a machine of its own, moved whole by any
/// <see cref="BatchMethod"/>; every page reference or pin taken is released before a pass returns. The
/// benchmark (bench/Kiov.Bench/BatchBench.cs) times <see cref="Run"/>; <see cref="BatchComparison.Rows"/>
/// counts it.
/// </summary>
internal sealed class BatchWorkload : IDisposable
{
    private const ulong Base = 0x1000_0000_0000;
    private readonly PhysicalMemory _memory;
    private readonly KernelSpace _kernel;
    private readonly AddressSpace _mm;
    private readonly IoVec[]? _iov;
    private readonly BioVec[]? _bvec;
    private readonly Page[] _owned = [];

    /// <summary>Builds the machine (the running kernel, with the 2017 non-advancing get_pages available
    /// for the baseline), maps and populates the memory, and lays out the request.</summary>
    public BatchWorkload(BatchShape shape)
    {
        Shape = shape;
        _memory = new PhysicalMemory(64L << 20);
        _kernel = new KernelSpace(_memory, KernelConfig.Current with { Name = "bench", NonAdvancingGetPages = true });
        _mm = new AddressSpace(_kernel);
        switch (shape)
        {
            case BatchShape.OneMiBIovec:
                Map(256 * PageSize);
                _iov = [new IoVec(Base, 1 << 20)];
                break;
            case BatchShape.AlignedIovecs256:
                Map(512 * PageSize);
                _iov = new IoVec[256];
                for (int i = 0; i < 256; i++) _iov[i] = new IoVec(Base + (ulong)(2 * i) * PageSize, PageSize);
                break;
            case BatchShape.MisalignedIovecs1000:
                Map(1000 * 1100 + PageSize);
                _iov = new IoVec[1000];
                for (int i = 0; i < 1000; i++) _iov[i] = new IoVec(Base + 8 + (ulong)i * 1100, 1000);
                break;
            case BatchShape.Bvec256:
            {
                var all = new Page[512];
                for (int i = 0; i < all.Length; i++) all[i] = _memory.Alloc(PageOwner.KernelBuffer);
                _owned = new Page[256];
                _bvec = new BioVec[256];
                for (int i = 0; i < 256; i++)
                {
                    _owned[i] = all[2 * (255 - i)];
                    _memory.Put(all[2 * i + 1]);
                    _bvec[i] = new BioVec(_owned[i], PageSize, 0);
                }
                break;
            }
        }
        IovIter it = NewIter();
        Bytes = it.Count;
        Pages = it.NPages(int.MaxValue);
    }

    /// <summary>The request's shape.</summary>
    public BatchShape Shape { get; }

    /// <summary>The request's bytes.</summary>
    public ulong Bytes { get; }

    /// <summary>The pages the request touches (<c>iov_iter_npages</c>): the divisor of ns per page.</summary>
    public int Pages { get; }

    private void Map(ulong len)
    {
        len = (len + PageSize - 1) & PageMask;
        long r = _mm.Mmap(Base, len, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate);
        if (r != (long)Base) throw new InvalidOperationException($"mmap: {r}");
    }

    // A source iterator (a write to the device): user pages are taken for reading.
    private IovIter NewIter() => _iov != null
        ? IovIter.Init(true, _mm, _iov, _iov.Length, (ulong)_iov.Length * _iov[0].Len)
        : IovIter.Bvec(true, _kernel, _bvec!, _bvec!.Length, (ulong)_bvec.Length * PageSize);

    /// <summary>Moves the whole request once through <paramref name="method"/> and releases what it took.</summary>
    public BatchPass Run(BatchMethod method)
    {
        IovIter it = NewIter();
        long gup = _kernel.Counters.GupCalls;
        int calls = 0, batches = 0;
        ulong bytes = 0;
        switch (method)
        {
            case BatchMethod.Baseline2017:
            case BatchMethod.JeffV3:
                while (it.Count != 0)
                {
                    long r = method == BatchMethod.JeffV3
                        ? it.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start)
                        : it.GetPagesAlloc(out pages, ulong.MaxValue, out start);
                    calls++;
                    if (r <= 0) break;
                    batches++;
                    UserPages.PutPages(_memory, pages.AsSpan(0, (int)PagesSpanned(start, (ulong)r)));
                    it.Advance((ulong)r);
                    bytes += (ulong)r;
                }
                break;
            case BatchMethod.Primitive:
            {
                var counter = new CountingConsumer();
                long r = it.ForEachPageBatch(ulong.MaxValue, ref counter);
                calls = 1;
                batches = counter.Batches;
                if (r > 0) bytes = (ulong)r;
                break;
            }
            case BatchMethod.ExtractPages:
                while (it.Count != 0)
                {
                    Page[]? pages = null;
                    long r = it.ExtractPages(ref pages, ulong.MaxValue, IovIter.BatchMaxPages, ExtractionFlags.None, out ulong offset0);
                    calls++;
                    if (r <= 0) break;
                    batches++;
                    if (it.ExtractWillPin) UserPages.UnpinUserPages(_kernel, pages.AsSpan(0, (int)PagesSpanned(offset0, (ulong)r)));
                    bytes += (ulong)r;
                }
                break;
        }
        return new BatchPass(calls, batches, _kernel.Counters.GupCalls - gup, bytes);
    }

    private struct CountingConsumer : IPageBatchConsumer
    {
        public int Batches;
        public long Consume(scoped PageBatch batch)
        {
            Batches++;
            return (long)batch.Bytes;
        }
    }

    /// <summary>Frees the request's pages and the machine.</summary>
    public void Dispose()
    {
        foreach (Page p in _owned) _memory.Put(p);
        _mm.Dispose();
        _memory.Dispose();
    }
}

/// <summary>The deterministic half of the seed thread's comparison, for <c>kiov bench</c>.</summary>
internal static class BatchComparison
{
    /// <summary>
    /// Every shape by every method: API calls, batches, GUP calls and managed bytes allocated per MiB of
    /// request, counted (not timed) on one pass after a warm-up pass. The time per page comes from the
    /// benchmark (BatchBench).
    /// </summary>
    public static IReadOnlyList<BatchComparisonRow> Rows()
    {
        var rows = new List<BatchComparisonRow>();
        foreach (BatchShape shape in Enum.GetValues<BatchShape>())
        {
            using var w = new BatchWorkload(shape);
            double perMiB = (1 << 20) / (double)w.Bytes;
            foreach (BatchMethod method in Enum.GetValues<BatchMethod>())
            {
                w.Run(method);
                // The least of three passes: a pass that meets a garbage collection may find
                // ArrayPool's per-thread cache trimmed and allocate once, which is not the method's cost.
                BatchPass pass = default;
                long allocated = long.MaxValue;
                for (int i = 0; i < 3; i++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    pass = w.Run(method);
                    allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
                }
                if (pass.Bytes != w.Bytes) throw new InvalidOperationException($"{method} on {shape} moved {pass.Bytes} of {w.Bytes} bytes");
                rows.Add(new BatchComparisonRow(shape, method, pass.Calls * perMiB, pass.Batches * perMiB, pass.GupCalls * perMiB, allocated * perMiB));
            }
        }
        return rows;
    }

    /// <summary>The rows as a fixed-width text table, one line per row after a header, for a terminal.</summary>
    public static IReadOnlyList<string> Format(IReadOnlyList<BatchComparisonRow> rows)
    {
        var lines = new List<string> { $"{"shape",-21} {"method",-13} {"calls/MiB",10} {"batches/MiB",12} {"gup/MiB",9} {"alloc B/MiB",12}" };
        foreach (BatchComparisonRow r in rows)
            lines.Add(FormattableString.Invariant($"{r.Shape,-21} {r.Method,-13} {r.CallsPerMiB,10:F1} {r.BatchesPerMiB,12:F1} {r.GupCallsPerMiB,9:F1} {r.AllocatedBytesPerMiB,12:F0}"));
        return lines;
    }
}
