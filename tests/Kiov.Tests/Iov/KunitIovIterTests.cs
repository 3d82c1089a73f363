using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;

namespace Kiov.Tests.Iov;

/// <summary>
/// A port of the kernel's KUnit suite "iov_iter" (lib/kunit_iov_iter.c, 6.12: twelve cases), with its
/// ranges, patterns and checks. The buffer is 256 separately allocated pages vmapped into one 1 MiB
/// kernel buffer; expected images are built the way the kernel's test builds them.
/// </summary>
public sealed class KunitIovIterTests : IDisposable
{
    private const int PageSize = PageGeometry.PageSize;
    private const int BufSize = 0x100000;
    private const int NPages = BufSize / PageSize;

    // kvec_test_ranges: (from, to) byte ranges of the 1 MiB buffer.
    private static readonly (int From, int To)[] KvecRanges =
    [
        (0x00002, 0x00002), (0x00027, 0x03000), (0x05193, 0x18794), (0x20000, 0x20000),
        (0x20000, 0x24000), (0x24000, 0x27001), (0x29000, 0xffffb), (0xffffd, 0xffffe),
    ];

    // bvec_test_ranges: (page, from, to) within a page.
    private static readonly (int Page, int From, int To)[] BvecRanges =
    [
        (0, 0x0002, 0x0002), (1, 0x0027, 0x0893), (2, 0x0193, 0x0794), (3, 0x0000, 0x1000),
        (4, 0x0000, 0x1000), (5, 0x0000, 0x1000), (6, 0x0000, 0x0ffb), (6, 0x0ffd, 0x0ffe),
    ];

    private readonly KernelFixture _k = new();
    private readonly List<(ulong Addr, Page[] Pages)> _buffers = [];
    private readonly List<PageCache> _caches = [];

    private static byte Pattern(int x) => (byte)x;

    public void Dispose()
    {
        foreach (var (addr, pages) in _buffers)
        {
            _k.Kernel.Vunmap(addr, pages.Length);
            foreach (var p in pages) _k.Memory.Put(p);
        }
        foreach (var c in _caches) c.RemoveFrom(0);
        _k.Dispose();
    }

    // iov_kunit_create_buffer: npages pages, each allocated on its own (in descending frame order, so no
    // two neighbours are physically adjacent and nothing merges by accident), vmapped into one buffer.
    // With a cache the pages are that cache's pages 0..255, as the xarray cases store them.
    private (ulong Addr, Page[] Pages) CreateBuffer(PageCache? cache = null)
    {
        var pages = new Page[NPages];
        if (cache == null)
        {
            var got = new Page[NPages];
            for (int i = 0; i < NPages; i++) got[i] = _k.Memory.Alloc(PageOwner.KernelBuffer);
            for (int i = 0; i < NPages; i++) pages[i] = got[NPages - 1 - i];
        }
        else
            for (int i = 0; i < NPages; i++) pages[i] = cache.FindOrCreate(i);
        Assert.DoesNotContain(Page.Null, pages);
        ulong addr = _k.Kernel.Vmap(pages);
        _buffers.Add((addr, pages));
        return (addr, pages);
    }

    private PageCache NewCache()
    {
        var c = new PageCache(_k.Memory);
        _caches.Add(c);
        return c;
    }

    private byte[] Read(Page[] pages)
    {
        var all = new byte[BufSize];
        for (int i = 0; i < NPages; i++) _k.Memory.Span(pages[i]).CopyTo(all.AsSpan(i * PageSize));
        return all;
    }

    private void Fill(Page[] pages, Func<int, byte> f)
    {
        for (int i = 0; i < NPages; i++)
        {
            var s = _k.Memory.Span(pages[i]);
            for (int j = 0; j < PageSize; j++) s[j] = f(i * PageSize + j);
        }
    }

    private static byte[] Scratch(bool patterned)
    {
        var s = new byte[BufSize];
        if (patterned) for (int i = 0; i < BufSize; i++) s[i] = Pattern(i);
        return s;
    }

    // iov_kunit_load_kvec
    private IovIter LoadKvec(bool source, ulong buffer, out IoVec[] kvec)
    {
        kvec = new IoVec[8];
        ulong size = 0;
        int i = 0;
        foreach (var (from, to) in KvecRanges)
        {
            Assert.True(to >= from && to <= BufSize);
            kvec[i++] = new IoVec(buffer + (ulong)from, (ulong)(to - from));
            size += (ulong)(to - from);
        }
        Assert.True(size <= BufSize);
        return IovIter.Kvec(source, _k.Kernel, kvec, i, size);
    }

    // iov_kunit_load_bvec, with its merge of a range that continues the previous one on the next page.
    private IovIter LoadBvec(bool source, Page[] pages, out int nrBvecs)
    {
        var bvec = new BioVec[8];
        Page canMerge = Page.Null;
        ulong size = 0;
        int n = 0;
        foreach (var (page, from, to) in BvecRanges)
        {
            Assert.True(page < NPages && 0 <= from && from <= to && to <= PageSize);
            Page pg = pages[page];
            if (from == 0 && from != to && !canMerge.IsNull && pg == canMerge)
                bvec[n - 1] = bvec[n - 1] with { Len = bvec[n - 1].Len + (uint)to };
            else
                bvec[n++] = new BioVec(pg, (uint)(to - from), (uint)from);
            canMerge = to == PageSize ? pg.Nth(1) : Page.Null;
            size += (ulong)(to - from);
        }
        nrBvecs = n;
        return IovIter.Bvec(source, _k.Kernel, bvec, n, size);
    }

    private static byte[] ExpectedScatteredFromScratch()
    {
        var expect = new byte[BufSize];
        int p = 0;
        foreach (var (from, to) in KvecRanges)
            for (int j = from; j < to; j++) expect[j] = Pattern(p++);
        return expect;
    }

    private static byte[] ExpectedGatheredFromBuffer()
    {
        var expect = new byte[BufSize];
        int b = 0;
        foreach (var (from, to) in KvecRanges)
            for (int j = from; j < to; j++) expect[b++] = Pattern(j);
        return expect;
    }

    // The whole iterator in one call: everything copied, nothing left, no segment left.
    private static void CopyWhole(ref IovIter iter, byte[] scratch, bool toIter)
    {
        ulong size = Math.Min(iter.Count, (ulong)BufSize);
        ulong copied = toIter ? iter.CopyToIter(scratch.AsSpan(0, (int)size)) : iter.CopyFromIter(scratch.AsSpan(0, (int)size));
        Assert.Equal(size, copied);
        Assert.Equal(0UL, iter.Count);
        Assert.Equal(0, iter.NrSegs);
    }

    // One fresh iterator per kvec range, the scratch consumed in order: the folioq and xarray cases.
    private static void CopyPerRange(byte[] scratch, bool toIter, Func<int, int, IovIter> make, Func<int, int, ulong> expectOffset)
    {
        int i = 0;
        foreach (var (from, to) in KvecRanges)
        {
            ulong size = (ulong)(to - from);
            IovIter iter = make(from, to);
            var chunk = scratch.AsSpan(i, (int)size);
            ulong copied = toIter ? iter.CopyToIter(chunk) : iter.CopyFromIter(chunk);
            Assert.Equal(size, copied);
            Assert.Equal(0UL, iter.Count);
            Assert.Equal(expectOffset(from, to), iter.IovOffset);
            i += (int)size;
        }
    }

    private static void AssertImage(byte[] expect, byte[] actual)
    {
        int i = expect.AsSpan().CommonPrefixLength(actual);
        Assert.True(i == expect.Length, $"first mismatch at 0x{i:x}: expected {(i < expect.Length ? expect[i] : 0)}, got {(i < actual.Length ? actual[i] : 0)}");
    }

    [Fact]
    public void iov_kunit_copy_to_kvec()
    {
        var scratch = Scratch(true);
        var (buffer, pages) = CreateBuffer();
        var iter = LoadKvec(false, buffer, out _);
        CopyWhole(ref iter, scratch, toIter: true);
        AssertImage(ExpectedScatteredFromScratch(), Read(pages));
    }

    [Fact]
    public void iov_kunit_copy_from_kvec()
    {
        var (buffer, pages) = CreateBuffer();
        Fill(pages, Pattern);
        var scratch = Scratch(false);
        var iter = LoadKvec(true, buffer, out _);
        CopyWhole(ref iter, scratch, toIter: false);
        AssertImage(ExpectedGatheredFromBuffer(), scratch);
    }

    [Fact]
    public void iov_kunit_copy_to_bvec()
    {
        var scratch = Scratch(true);
        var (_, pages) = CreateBuffer();
        var iter = LoadBvec(false, pages, out _);
        Assert.Equal(20073UL, iter.Count);
        CopyWhole(ref iter, scratch, toIter: true);
        var expect = new byte[BufSize];
        int p = 0;
        foreach (var (page, from, to) in BvecRanges)
            for (int j = from; j < to; j++) expect[page * PageSize + j] = Pattern(p++);
        AssertImage(expect, Read(pages));
    }

    [Fact]
    public void iov_kunit_copy_from_bvec()
    {
        var (_, pages) = CreateBuffer();
        Fill(pages, Pattern);
        var scratch = Scratch(false);
        var iter = LoadBvec(true, pages, out _);
        CopyWhole(ref iter, scratch, toIter: false);
        var expect = new byte[BufSize];
        int b = 0;
        foreach (var (page, from, to) in BvecRanges)
            for (int j = from; j < to; j++) expect[b++] = Pattern(page * PageSize + j);
        AssertImage(expect, scratch);
    }

    [Fact]
    public void iov_kunit_copy_to_folioq()
    {
        var scratch = Scratch(true);
        var (_, pages) = CreateBuffer();
        var folioq = FolioQueue.FromPages(pages);
        CopyPerRange(scratch, toIter: true, (from, to) =>
        {
            var iter = IovIter.FolioQueueOf(false, _k.Kernel, folioq, 0, 0, (ulong)to);
            iter.Advance((ulong)from);
            return iter;
        }, (from, to) => (ulong)(to % PageSize));
        AssertImage(ExpectedScatteredFromScratch(), Read(pages));
    }

    [Fact]
    public void iov_kunit_copy_from_folioq()
    {
        var (_, pages) = CreateBuffer();
        Fill(pages, Pattern);
        var scratch = Scratch(false);
        var folioq = FolioQueue.FromPages(pages);
        CopyPerRange(scratch, toIter: false, (from, to) =>
        {
            var iter = IovIter.FolioQueueOf(true, _k.Kernel, folioq, 0, 0, (ulong)to);
            iter.Advance((ulong)from);
            return iter;
        }, (from, to) => (ulong)(to % PageSize));
        AssertImage(ExpectedGatheredFromBuffer(), scratch);
    }

    [Fact]
    public void iov_kunit_copy_to_xarray()
    {
        var scratch = Scratch(true);
        var xa = NewCache();
        var (_, pages) = CreateBuffer(xa);
        CopyPerRange(scratch, toIter: true, (from, to) => IovIter.XarrayOf(false, _k.Kernel, xa, from, (ulong)(to - from)),
            (from, to) => (ulong)(to - from));
        AssertImage(ExpectedScatteredFromScratch(), Read(pages));
    }

    [Fact]
    public void iov_kunit_copy_from_xarray()
    {
        var xa = NewCache();
        var (_, pages) = CreateBuffer(xa);
        Fill(pages, Pattern);
        var scratch = Scratch(false);
        CopyPerRange(scratch, toIter: false, (from, to) => IovIter.XarrayOf(true, _k.Kernel, xa, from, (ulong)(to - from)),
            (from, to) => (ulong)(to - from));
        AssertImage(ExpectedGatheredFromBuffer(), scratch);
    }

    // The extraction loop the four extract_pages cases share: up to 100 KiB and 8 pages per call, the
    // page list poisoned first, each returned page checked against the range it must come from.
    // Returns the (length, offset0, pages used) of every call that returned bytes.
    private static List<(long Len, ulong Offset0, int Pages)> ExtractLoop(ref IovIter iter, Page[] pages, IEnumerator<(int Page, int From, int To)> ranges, ref int from, ref int to, ref ulong size)
    {
        var calls = new List<(long, ulong, int)>();
        var poison = new Page(unchecked((int)0xaa55aa55));
        while (iter.Count > 0)
        {
            Page[]? pagelist = new Page[8];
            Array.Fill(pagelist, poison);
            ulong offset0 = ulong.MaxValue >> 1; // LONG_MAX
            long len = iter.ExtractPages(ref pagelist, 100 * 1024, 8, ExtractionFlags.None, out offset0);
            Assert.True(len >= 0, $"extract_pages returned {len}");
            if (len > 0) Assert.True(offset0 < PageSize);
            Assert.True((ulong)len <= size);
            Assert.Equal(size - (ulong)len, iter.Count);
            size -= (ulong)len;
            if (len == 0) break;
            int used = (int)PageGeometry.PagesSpanned(offset0, (ulong)len);
            calls.Add((len, offset0, used));
            for (int i = 0; i < 8 && len > 0; i++)
            {
                int part = (int)Math.Min(len, PageSize - (long)offset0);
                while (from == to)
                {
                    Assert.True(ranges.MoveNext(), "ran out of ranges");
                    (int pg, from, to) = ranges.Current;
                    from += pg * PageSize;
                    to += pg * PageSize;
                }
                Assert.Equal(pages[from / PageSize], pagelist![i]);
                Assert.Equal((ulong)(from % PageSize), offset0);
                from += part;
                len -= part;
                offset0 = 0;
            }
        }
        return calls;
    }

    private static IEnumerator<(int, int, int)> AsPageRanges((int From, int To)[] ranges) =>
        ranges.Select(r => (0, r.From, r.To)).GetEnumerator();

    [Fact]
    public void iov_kunit_extract_pages_kvec()
    {
        var (buffer, pages) = CreateBuffer();
        var iter = LoadKvec(false, buffer, out _);
        ulong size = iter.Count;
        int from = 0, to = 0;
        var calls = ExtractLoop(ref iter, pages, AsPageRanges(KvecRanges), ref from, ref to, ref size);
        Assert.Equal(0UL, size);
        Assert.Equal(0UL, iter.Count);

        // An extraction never crosses a kvec segment: 34 calls, in this exact order.
        var expect = new List<(long, ulong, int)>
        {
            (12249, 0x027, 3), (32365, 0x193, 8), (32768, 0, 8), (14228, 0, 4), (16384, 0, 4), (12289, 0, 4),
        };
        expect.AddRange(Enumerable.Repeat((32768L, 0UL, 8), 26));
        expect.Add((28667, 0, 7));
        expect.Add((1, 0xffd, 1));
        Assert.Equal(34, expect.Count);
        Assert.Equal(expect, calls);
    }

    [Fact]
    public void iov_kunit_extract_pages_bvec()
    {
        var (_, pages) = CreateBuffer();
        var iter = LoadBvec(false, pages, out int nr);
        Assert.Equal(8, nr); // the pages are never physically adjacent, so no range merged
        ulong size = iter.Count;
        int from = 0, to = 0;
        var calls = ExtractLoop(ref iter, pages, ((IEnumerable<(int, int, int)>)BvecRanges).GetEnumerator(), ref from, ref to, ref size);
        Assert.Equal(0UL, size);
        Assert.Equal(0UL, iter.Count);
        Assert.Equal(new List<(long, ulong, int)> { (0x86c, 0x27, 1), (0x601, 0x193, 1), (0x3ffb, 0, 4), (1, 0xffd, 1) }, calls);
    }

    [Fact]
    public void iov_kunit_extract_pages_folioq()
    {
        var (_, pages) = CreateBuffer();
        var folioq = FolioQueue.FromPages(pages);
        foreach (var (rFrom, rTo) in KvecRanges)
        {
            var iter = IovIter.FolioQueueOf(true, _k.Kernel, folioq, 0, 0, (ulong)rTo);
            iter.Advance((ulong)rFrom);
            ulong size = (ulong)(rTo - rFrom);
            Assert.Equal(size, iter.Count);
            int from = rFrom, to = rTo;
            ExtractLoop(ref iter, pages, Enumerable.Empty<(int, int, int)>().GetEnumerator(), ref from, ref to, ref size);
            Assert.Equal(0UL, size);
            Assert.Equal(0UL, iter.Count);
        }
    }

    [Fact]
    public void iov_kunit_extract_pages_xarray()
    {
        var xa = NewCache();
        var (_, pages) = CreateBuffer(xa);
        foreach (var (rFrom, rTo) in KvecRanges)
        {
            ulong size = (ulong)(rTo - rFrom);
            var iter = IovIter.XarrayOf(true, _k.Kernel, xa, rFrom, size);
            int from = rFrom, to = rTo;
            ExtractLoop(ref iter, pages, Enumerable.Empty<(int, int, int)>().GetEnumerator(), ref from, ref to, ref size);
            Assert.Equal(0UL, size);
            Assert.Equal(0UL, iter.Count);
            Assert.Equal((ulong)(rTo - rFrom), iter.IovOffset);
        }
    }
}
