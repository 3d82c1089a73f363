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
    /// <summary>64 times: a page-aligned page, 100 bytes 8 bytes into a page, two page-aligned pages.
    /// The input Jeff Layton's v3 as posted miscounts (its sizing scan skips the misaligned segment).</summary>
    MisalignedBetweenAligned,
    /// <summary>A page, two pages whose second is not mapped, a page: the input where v3 as posted does
    /// not stop at the short GUP. Every method stops at the hole.</summary>
    HoleMidRun,
}

/// <summary>The ways of turning an iterator into pages that the comparison sets side by side.</summary>
public enum BatchMethod
{
    /// <summary>The 2017 <c>iov_iter_get_pages_alloc</c> (one segment, or one bvec page, per call), then an advance.</summary>
    Baseline2017,
    /// <summary>Jeff Layton's v3 patch 1/2 as posted, bugs included (<see cref="LaytonGetPagesAllocV3AsPosted.GetPagesAllocV3AsPosted"/>), then an advance.</summary>
    JeffV3Posted,
    /// <summary>Jeff Layton's v3 with its two bugs fixed (<see cref="LaytonGetPagesAllocV3.GetPagesAllocV3"/>), then an advance.</summary>
    JeffV3Fixed,
    /// <summary>Al Viro's primitive as he described its first step: the 2017 non-advancing get_pages
    /// and an advance per batch (<see cref="IovIter.ForEachPageBatchOnGetPages2017{TConsumer}"/>), one call.</summary>
    Primitive2017,
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
/// <param name="WrongBytes">Bytes the returned pages claim that are not where the iterator's data is
/// (a page array that does not describe the run its count claims).</param>
/// <param name="NullPages">NULL entries among the pages the count claims (the caller's put_page would oops).</param>
/// <param name="KernelArrayBytes">What the kernel would allocate for page-pointer arrays (8 bytes a
/// pointer): every array get_pages_alloc hands back, or the primitive's one buffer when it is too big
/// for the stack (more than 16 pages).</param>
internal readonly record struct BatchPass(int Calls, int Batches, long GupCalls, ulong Bytes, ulong WrongBytes = 0, int NullPages = 0, long KernelArrayBytes = 0);

/// <summary>One row of the comparison table, per MiB of request.</summary>
/// <param name="Shape">The request.</param>
/// <param name="Method">The method.</param>
/// <param name="CallsPerMiB">API calls the caller makes per MiB.</param>
/// <param name="BatchesPerMiB">Page lists handed back per MiB.</param>
/// <param name="GupCallsPerMiB">GUP calls underneath per MiB.</param>
/// <param name="AllocatedBytesPerMiB">Managed bytes allocated per MiB (after a warm-up pass; the least of three).</param>
/// <param name="Outcome">"ok", the bytes moved before a hole, or the bug the input hit.</param>
internal readonly record struct BatchComparisonRow(BatchShape Shape, BatchMethod Method, double CallsPerMiB, double BatchesPerMiB, double GupCallsPerMiB, double AllocatedBytesPerMiB, string Outcome = "ok");

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
            case BatchShape.MisalignedBetweenAligned:
                Map(64 * 8 * PageSize);
                _iov = new IoVec[192];
                for (int i = 0; i < 64; i++)
                {
                    ulong b = Base + (ulong)i * 8 * PageSize;
                    _iov[3 * i] = new IoVec(b, PageSize);
                    _iov[3 * i + 1] = new IoVec(b + 2 * PageSize + 8, 100);
                    _iov[3 * i + 2] = new IoVec(b + 4 * PageSize, 2 * PageSize);
                }
                break;
            case BatchShape.HoleMidRun:
                Map(8 * PageSize);
                if (_mm.Munmap(Base + 3 * PageSize, PageSize) != 0) throw new InvalidOperationException("munmap");
                _iov = [new IoVec(Base, PageSize), new IoVec(Base + 2 * PageSize, 2 * PageSize), new IoVec(Base + 6 * PageSize, PageSize)];
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
        ? IovIter.Init(true, _mm, _iov, _iov.Length, _iov.Aggregate(0UL, (t, v) => t + v.Len))
        : IovIter.Bvec(true, _kernel, _bvec!, _bvec!.Length, (ulong)_bvec.Length * PageSize);

    // Checks a get_pages-style answer against where the iterator's data really is: the returned run
    // claims byte j of the answer at pages[(start + j) / PAGE_SIZE], offset (start + j) % PAGE_SIZE; the
    // iovec says which user address, so which mapped page and offset, it is. Counts the bytes that differ
    // and the NULL pages the claim covers. BVEC answers are the bvecs' own pages and are not checked.
    private (ulong Wrong, int Nulls) Check(ulong consumed, Page[] pages, ulong start, ulong bytes)
    {
        if (_iov == null) return (0, 0);
        ulong wrong = 0;
        int nulls = 0;
        int lastNull = -1;
        ulong j = 0, pos = 0;
        foreach (IoVec v in _iov)
        {
            if (j == bytes) break;
            if (pos + v.Len <= consumed) { pos += v.Len; continue; }
            ulong skip = consumed > pos ? consumed - pos : 0;
            pos += v.Len;
            for (ulong a = v.Base + skip; a < v.Base + v.Len && j < bytes;)
            {
                ulong claimed = start + j;
                int idx = (int)(claimed >> PageShift);
                ulong chunk = Math.Min(Math.Min(v.Base + v.Len - a, bytes - j), Math.Min(PageSize - (a & (PageSize - 1)), PageSize - (claimed & (PageSize - 1))));
                Page got = idx < pages.Length ? pages[idx] : Page.Null;
                if (got.IsNull) { if (idx != lastNull) { nulls++; lastNull = idx; } wrong += chunk; }
                else
                {
                    ulong pte = _mm.ReadPte(a);
                    bool same = (pte & Pte.Present) != 0 && Pte.Pfn(pte) == got.Pfn && (a & (PageSize - 1)) == (claimed & (PageSize - 1));
                    if (!same) wrong += chunk;
                }
                a += chunk;
                j += chunk;
            }
        }
        return (wrong, nulls);
    }

    /// <summary>Moves the whole request once through <paramref name="method"/> and releases what it took.</summary>
    public BatchPass Run(BatchMethod method)
    {
        IovIter it = NewIter();
        long gup = _kernel.Counters.GupCalls;
        int calls = 0, batches = 0, nulls = 0;
        ulong bytes = 0, wrong = 0;
        long arrays = 0;
        switch (method)
        {
            case BatchMethod.Baseline2017:
            case BatchMethod.JeffV3Posted:
            case BatchMethod.JeffV3Fixed:
                while (it.Count != 0)
                {
                    Page[]? pages;
                    ulong start;
                    long r = method switch
                    {
                        BatchMethod.JeffV3Posted => it.GetPagesAllocV3AsPosted(out pages, ulong.MaxValue, out start),
                        BatchMethod.JeffV3Fixed => it.GetPagesAllocV3(out pages, ulong.MaxValue, out start),
                        _ => it.GetPagesAlloc(out pages, ulong.MaxValue, out start),
                    };
                    calls++;
                    if (r <= 0) break;
                    batches++;
                    arrays += 8L * pages!.Length;
                    var (w, n) = Check(bytes, pages!, start, (ulong)r);
                    wrong += w;
                    nulls += n;
                    Span<Page> held = pages.AsSpan(0, Math.Min(pages!.Length, (int)PagesSpanned(start, (ulong)r)));
                    foreach (Page p in held) if (!p.IsNull) _memory.Put(p);
                    it.Advance((ulong)r);
                    bytes += (ulong)r;
                }
                break;
            case BatchMethod.Primitive2017:
            {
                var counter = new CountingConsumer();
                long r = it.ForEachPageBatchOnGetPages2017(ulong.MaxValue, ref counter);
                arrays = 8L * Math.Min(Pages, IovIter.BatchMaxPages);
                calls = 1;
                batches = counter.Batches;
                if (r > 0) bytes = (ulong)r;
                break;
            }
            case BatchMethod.Primitive:
            {
                var counter = new CountingConsumer();
                long r = it.ForEachPageBatch(ulong.MaxValue, ref counter);
                int buffer = Math.Min(Pages, IovIter.BatchMaxPages);
                arrays = _iov != null && buffer > IovIter.BatchStackPages ? 8L * buffer : 0;
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
                    arrays += 8L * pages!.Length;
                    if (it.ExtractWillPin) UserPages.UnpinUserPages(_kernel, pages.AsSpan(0, (int)PagesSpanned(offset0, (ulong)r)));
                    bytes += (ulong)r;
                }
                break;
        }
        return new BatchPass(calls, batches, _kernel.Counters.GupCalls - gup, bytes, wrong, nulls, arrays);
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
                string outcome = pass.WrongBytes != 0 || pass.NullPages != 0
                    ? $"BUG: {pass.WrongBytes} B on wrong pages" + (pass.NullPages != 0 ? $", {pass.NullPages} NULL page" : "")
                    : pass.Bytes != w.Bytes ? $"stops at the hole: {pass.Bytes} of {w.Bytes} B" : "ok";
                if (pass.Bytes != w.Bytes && shape != BatchShape.HoleMidRun && outcome == "ok")
                    throw new InvalidOperationException($"{method} on {shape} moved {pass.Bytes} of {w.Bytes} bytes");
                rows.Add(new BatchComparisonRow(shape, method, pass.Calls * perMiB, pass.Batches * perMiB, pass.GupCalls * perMiB, allocated * perMiB, outcome));
            }
        }
        return rows;
    }

    /// <summary>The rows as a fixed-width text table, one line per row after a header, for a terminal.</summary>
    public static IReadOnlyList<string> Format(IReadOnlyList<BatchComparisonRow> rows)
    {
        var lines = new List<string> { $"{"shape",-24} {"method",-13} {"calls/MiB",10} {"batches/MiB",12} {"gup/MiB",9} {"alloc B/MiB",12}  outcome" };
        foreach (BatchComparisonRow r in rows)
            lines.Add(FormattableString.Invariant($"{r.Shape,-24} {r.Method,-13} {r.CallsPerMiB,10:F1} {r.BatchesPerMiB,12:F1} {r.GupCallsPerMiB,9:F1} {r.AllocatedBytesPerMiB,12:F0}  {r.Outcome}"));
        return lines;
    }
}
