using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Iov;
using Kiov.Tests.Support;
using static Kiov.Tests.Batch.BatchTestData;

namespace Kiov.Tests.Batch;

/// <summary>The 2017 baseline <c>iov_iter_get_pages_alloc</c>, Jeff Layton's v3 variant, and GetPages2
/// folded onto Al Viro's primitive, on every kind.</summary>
public class GetPagesProposalTests
{
    private static KernelConfig Seed => KernelConfig.Linux2017;

    private static void Put(PhysicalMemory mem, Page[]? pages, long bytes, ulong start)
    {
        if (bytes > 0) UserPages.PutPages(mem, pages.AsSpan(0, (int)PageGeometry.PagesSpanned(start, (ulong)bytes)));
    }

    [Fact]
    public void V3CoalescesAlignedSegmentsWhereTheBaselineStopsAtTheFirst()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 11 * PageSize, 1);
        IoVec[] iov = [new(A + 100, P - 100), new(A + 2 * P, 2 * P), new(A + 5 * P + 8, 100), new(A + 7 * P, P)];
        var it = IovIter.Init(false, k.Mm, iov, 4, Sum(iov));
        long v3 = it.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((long)(P - 100 + 2 * P), v3);
        Assert.Equal(100UL, start);
        Assert.Equal(3, pages!.Length);
        Assert.Equal(Sum(iov), it.Count); // v3 did not advance, as the 2017 call did not
        Assert.All(pages, p => Assert.True(k.Memory.RefCount(p) >= 2));
        Put(k.Memory, pages, v3, start);

        long baseline = it.GetPagesAlloc(out Page[]? one, ulong.MaxValue, out start);
        Assert.Equal((long)(P - 100), baseline);
        Assert.Single(one!);
        Put(k.Memory, one, baseline, start);

        it.Advance((ulong)v3); // the rest: a misaligned segment, then an aligned one after a mid-page end
        Assert.Equal(100L, it.GetPagesAllocV3(out pages, ulong.MaxValue, out start));
        Assert.Equal(8UL, start);
        Put(k.Memory, pages, 100, start);
        Assert.Equal(10L, it.GetPagesAllocV3(out pages, 10, out start)); // maxSize bounds the scan
        Put(k.Memory, pages, 10, start);
    }

    [Fact]
    public void V3StopsAtTheFirstDiscontinuityInsteadOfCountingPastIt()
    {
        // The posted scan skipped the misaligned middle segment but kept counting the aligned third one.
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 8 * PageSize, 2);
        IoVec[] iov = [new(A, P), new(A + 2 * P + 8, 100), new(A + 4 * P, 2 * P)];
        var it = IovIter.Init(true, k.Mm, iov, 3, Sum(iov));
        long r = it.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((long)P, r);
        Assert.Single(pages!);
        Put(k.Memory, pages, r, start);
    }

    [Fact]
    public void V3TreatsAShortPinAsTheEndOfTheRunAndKeepsWhatItGot()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, PageSize, 3);
        MapFilled(k, A + 2 * P, PageSize, 4);  // the second segment's second page is a hole
        IoVec[] iov = [new(A, P), new(A + 2 * P, 2 * P), new(A + 6 * P, P)];
        var it = IovIter.Init(true, k.Mm, iov, 3, Sum(iov));
        long r = it.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((long)(2 * P), r);
        Assert.Equal(4, pages!.Length);          // sized by the scan, which could not know of the hole
        Assert.True(pages[2].IsNull && pages[3].IsNull); // never filled: nothing to drop
        Put(k.Memory, pages, r, start);          // exactly the pages the count covers

        var atHole = IovIter.Ubuf(true, k.Mm, A + 3 * P, P);
        Assert.Equal(-Errno.EFAULT, atHole.GetPagesAllocV3(out pages, ulong.MaxValue, out _));
        Assert.Null(pages);
    }

    [Fact]
    public void V3ChainsBvecsTakesAReferencePerPageAndRefusesKvec()
    {
        using var k = new KernelFixture(Seed);
        Page[] s = ScatteredPages(k.Memory, 3, 5);
        BioVec[] bv = [new(s[0], (uint)(P - 10), 10), new(s[1], (uint)P, 0), new(s[2], 100, 0)];
        var it = IovIter.Bvec(true, k.Kernel, bv, 3, 2 * P + 90);
        long r = it.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((long)(2 * P + 90), r);
        Assert.Equal(10UL, start);
        Assert.Equal(s, pages);
        Assert.All(s, p => Assert.Equal(2, k.Memory.RefCount(p)));
        Put(k.Memory, pages, r, start);
        long baseline = it.GetPagesAlloc(out Page[]? one, ulong.MaxValue, out start); // 2017: one bvec page
        Assert.Equal((long)(P - 10), baseline);
        Put(k.Memory, one, baseline, start);

        var kv = IovIter.Kvec(true, k.Kernel, [new(PhysicalMemory.KernelAddress(s[0]), 10)], 1, 10);
        Assert.Equal(-Errno.EFAULT, kv.GetPagesAllocV3(out pages, 10, out _));
        foreach (var p in s) k.Memory.Put(p);
    }

    [Fact]
    public void V3OnPipeAndXarrayIsWhatGetPagesAllocGives()
    {
        using var k = new KernelFixture(Seed);
        using (var pa = new TestPipe(k.Memory))
        using (var pb = new TestPipe(k.Memory))
        {
            var a = IovIter.PipeOf(false, k.Kernel, pa, 3 * P);
            var b = IovIter.PipeOf(false, k.Kernel, pb, 3 * P);
            long ra = a.GetPagesAllocV3(out Page[]? x, ulong.MaxValue, out ulong sa);
            long rb = b.GetPagesAlloc(out Page[]? y, ulong.MaxValue, out ulong sb);
            Assert.Equal((rb, sb, y!.Length, pb.Head), (ra, sa, x!.Length, pa.Head));
            Assert.Equal(3 * P, a.Count);
            Put(k.Memory, x, ra, sa);
            Put(k.Memory, y, rb, sb);
        }
        var cache = new PageCache(k.Memory);
        for (int i = 0; i < 2; i++) k.Memory.Put(cache.FindOrCreate(i));
        var xa = IovIter.XarrayOf(true, k.Kernel, cache, 5, 3 * P);
        long r = xa.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((long)(2 * P - 5), r);
        Assert.Equal(3 * P, xa.Count);
        Put(k.Memory, pages, r, start);
        cache.RemoveFrom(0);
    }

    [Fact]
    public void TheBaselineTakesOneSegmentOrOneBvecPagePerCallOnEveryKindAndDoesNotAdvance()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 3 * PageSize, 9);             // page 3 is a hole
        var ubuf = IovIter.Ubuf(true, k.Mm, A + 10, 4 * P);
        long r = ubuf.GetPagesAlloc(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((3 * P - 10, 10UL, 4 * P), ((ulong)r, start, ubuf.Count)); // short at the hole
        Put(k.Memory, pages, r, start);
        var iov = IovIter.Init(true, k.Mm, [new(A, P), new(A + P, P)], 2, 2 * P); // aligned: still one segment
        r = iov.GetPagesAlloc(out pages, ulong.MaxValue, out start);
        Assert.Equal(((long)P, 1), (r, pages!.Length));
        Put(k.Memory, pages, r, start);
        r = v3Of(iov, out pages, out start);
        Assert.Equal((long)(2 * P), r);              // v3 on the same request: both segments
        Put(k.Memory, pages, r, start);

        Page[] s = ScatteredPages(k.Memory, 2, 10);
        var kv = IovIter.Kvec(true, k.Kernel, [new(PhysicalMemory.KernelAddress(s[0]), 10)], 1, 10);
        Assert.Equal(-Errno.EFAULT, kv.GetPagesAlloc(out _, 10, out _));
        var bv = IovIter.Bvec(true, k.Kernel, [new(s[0], (uint)P, 0), new(s[1], (uint)P, 0)], 2, 2 * P);
        r = bv.GetPagesAlloc(out pages, ulong.MaxValue, out start);
        Assert.Equal(((long)P, 2 * P), (r, bv.Count));
        Put(k.Memory, pages, r, start);

        var cache = new PageCache(k.Memory);
        foreach (long i in new long[] { 0, 1, 3 }) k.Memory.Put(cache.FindOrCreate(i));
        var xa = IovIter.XarrayOf(true, k.Kernel, cache, 0, 4 * P);
        r = xa.GetPagesAlloc(out pages, ulong.MaxValue, out start);
        Assert.Equal(((long)(2 * P), 4 * P), (r, xa.Count)); // up to the hole at index 2
        Put(k.Memory, pages, r, start);

        using (var pipe = new TestPipe(k.Memory))
        {
            var it = IovIter.PipeOf(false, k.Kernel, pipe, 3 * P);
            r = it.GetPagesAlloc(out pages, ulong.MaxValue, out start);
            Assert.Equal(((long)(3 * P), 3U, 3 * P), (r, pipe.Head, it.Count)); // reserved, position unmoved
            Put(k.Memory, pages, r, start);
        }
        cache.RemoveFrom(0);
        foreach (var p in s) k.Memory.Put(p);

        static long v3Of(IovIter it, out Page[]? pages, out ulong start) => it.GetPagesAllocV3(out pages, ulong.MaxValue, out start);
    }

    [Fact]
    public void V3OnAUbufIsOneRunCutAtAShortPin()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 2 * PageSize, 11);
        MapFilled(k, A + 3 * P, PageSize, 12);
        var it = IovIter.Ubuf(true, k.Mm, A + 20, 4 * P - 20);
        long r = it.GetPagesAllocV3(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal((2 * P - 20, 20UL, 4), ((ulong)r, start, pages!.Length));
        Put(k.Memory, pages, r, start);
    }

    // Calls GetPages2 and GetPages2ViaPrimitive step by step on two identical iterators until both stop,
    // comparing every result, offset, page and position.
    // Two pipes get different fresh pages, and a FOLIOQ walk may name the same position as the end of
    // one folio or the start of the next, so those compare only what can be equal.
    private static void SameAsGetPages2(PhysicalMemory mem, IovIter a, IovIter b, ulong maxSize, int maxPages, bool samePages = true, bool samePosition = true)
    {
        var pa = new Page[maxPages];
        var pb = new Page[maxPages];
        for (int step = 0; step < 100; step++)
        {
            long ra = a.GetPages2(pa, maxSize, maxPages, out ulong sa);
            long rb = b.GetPages2ViaPrimitive(pb, maxSize, maxPages, out ulong sb);
            Assert.Equal((ra, a.Count), (rb, b.Count));
            if (samePosition) Assert.Equal((a.SegmentIndex, a.IovOffset), (b.SegmentIndex, b.IovOffset));
            if (ra <= 0) return;
            Assert.Equal(sa, sb);
            int n = (int)PageGeometry.PagesSpanned(sa, (ulong)ra);
            if (samePages) Assert.Equal(pa[..n], pb[..n]);
            UserPages.PutPages(mem, pa.AsSpan(0, n));
            UserPages.PutPages(mem, pb.AsSpan(0, n));
            if (a.Count == 0) return;
        }
    }

    [Fact]
    public void GetPages2WrittenOnThePrimitiveMatchesGetPages2OnEveryKind()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 6 * PageSize, 6);
        MapFilled(k, A + 7 * P, 2 * PageSize, 7); // a hole at page 6
        IoVec[] iov = [new(A + 100, P - 100), new(A + P, 0), new(A + 2 * P + 8, 2 * P), new(A + 5 * P, 3 * P)];
        foreach (var (max, pages) in new[] { (ulong.MaxValue, 16), (5000UL, 16), (ulong.MaxValue, 1), (ulong.MaxValue, 3) })
        {
            SameAsGetPages2(k.Memory, IovIter.Init(true, k.Mm, iov, 4, Sum(iov)), IovIter.Init(true, k.Mm, iov, 4, Sum(iov)), max, pages);
            SameAsGetPages2(k.Memory, IovIter.Ubuf(false, k.Mm, A + 7, 8 * P), IovIter.Ubuf(false, k.Mm, A + 7, 8 * P), max, pages);
        }

        Page[] s = ScatteredPages(k.Memory, 2, 8);
        Page run = k.Memory.AllocContiguous(3, PageOwner.KernelBuffer);
        BioVec[] bv = [new(s[0], 100, 3000), new(run, (uint)(3 * P - 50), 50), new(s[1], (uint)P, 0)];
        ulong bvTotal = 100 + 3 * P - 50 + P;
        foreach (var (max, pages) in new[] { (ulong.MaxValue, 16), (ulong.MaxValue, 2), (5000UL, 16) })
            SameAsGetPages2(k.Memory, IovIter.Bvec(true, k.Kernel, bv, 3, bvTotal), IovIter.Bvec(true, k.Kernel, bv, 3, bvTotal), max, pages);

        var cache = new PageCache(k.Memory);
        foreach (long i in new long[] { 0, 1, 2, 4 }) k.Memory.Put(cache.FindOrCreate(i));
        SameAsGetPages2(k.Memory, IovIter.XarrayOf(true, k.Kernel, cache, 10, 5 * P), IovIter.XarrayOf(true, k.Kernel, cache, 10, 5 * P), ulong.MaxValue, 2);

        var fq = FolioQueue.FromPages([s[0], s[1], run], slots: 2);
        SameAsGetPages2(k.Memory, IovIter.FolioQueueOf(true, k.Kernel, fq, 0, 30, 3 * P - 30), IovIter.FolioQueueOf(true, k.Kernel, fq, 0, 30, 3 * P - 30), ulong.MaxValue, 16, samePosition: false);

        using (var pa = new TestPipe(k.Memory, 4))
        using (var pb = new TestPipe(k.Memory, 4))
        {
            var a = IovIter.PipeOf(false, k.Kernel, pa, 6 * P);
            var b = IovIter.PipeOf(false, k.Kernel, pb, 6 * P);
            Assert.Equal(a.CopyToIter(new byte[10]), b.CopyToIter(new byte[10]));
            SameAsGetPages2(k.Memory, a, b, ulong.MaxValue, 3, samePages: false);
            Assert.Equal((pa.Head, pa[0].Len, pa[3].Len), (pb.Head, pb[0].Len, pb[3].Len));
        }

        var kv = IovIter.Kvec(true, k.Kernel, [new(PhysicalMemory.KernelAddress(run), 10)], 1, 10);
        SameAsGetPages2(k.Memory, kv, kv, 10, 1);

        cache.RemoveFrom(0);
        foreach (var p in s) k.Memory.Put(p);
        for (int i = 0; i < 3; i++) k.Memory.Put(run.Nth(i));
    }

    private static Page MappedPage(KernelFixture k, ulong addr) => new(Pte.Pfn(k.Mm.ReadPte(addr)));

    /// <summary>v3 as posted, bug 1 (iov_iter_pvec_size): a misaligned segment between two aligned ones
    /// is skipped by the scan, which keeps its "tail aligned" flag and counts the third; the fill walks
    /// the bytes in order, so the array's second page is the misaligned segment's page while the count
    /// says the run goes on at offset 0 of it. The fixed version stops at the misaligned segment.</summary>
    [Fact]
    public void V3AsPostedCountsPastAMisalignedSegmentAndHandsTheWrongPages()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 8 * PageSize, 5);
        IoVec[] iov = [new(A, P), new(A + 2 * P + 8, 100), new(A + 4 * P, 2 * P)];
        var it = IovIter.Init(true, k.Mm, iov, 3, Sum(iov));
        long posted = it.GetPagesAllocV3AsPosted(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal(0UL, start);
        Assert.Equal(3, pages!.Length);                                  // sized for P + 2P
        Assert.Equal((long)P + 100, posted);                              // the fill stopped at the overrun guard
        Assert.Equal(MappedPage(k, A + 2 * P), pages[1]);                 // bytes P.. claimed at offset 0 of this page; they live 8 bytes in
        Assert.True(pages[2].IsNull);
        Put(k.Memory, pages, posted, start);
        long fixedV3 = it.GetPagesAllocV3(out pages, ulong.MaxValue, out start);
        Assert.Equal((long)P, fixedV3);
        Put(k.Memory, pages, fixedV3, start);
    }

    /// <summary>v3 as posted, bug 2: a short get_user_pages_fast in the middle (a hole in the second
    /// segment) does not end the run: the third segment's page fills the gap, the array's last entry
    /// stays NULL, and the count still claims every byte. The fixed version returns the pages before the hole.</summary>
    [Fact]
    public void V3AsPostedGoesOnAfterAShortGupAndLeavesANullPage()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 2 * PageSize, 3);
        MapFilled(k, A + 2 * P, PageSize, 4);  // the second segment's second page is a hole
        MapFilled(k, A + 6 * P, PageSize, 6);
        IoVec[] iov = [new(A, P), new(A + 2 * P, 2 * P), new(A + 6 * P, P)];
        var it = IovIter.Init(true, k.Mm, iov, 3, Sum(iov));
        long posted = it.GetPagesAllocV3AsPosted(out Page[]? pages, ulong.MaxValue, out ulong start);
        Assert.Equal(4 * (long)P, posted);                                    // every byte claimed
        Assert.Equal(MappedPage(k, A + 6 * P), pages![2]);                // in the hole's place
        Assert.True(pages[3].IsNull);                                     // put_page(NULL) for the caller
        UserPages.PutPages(k.Memory, pages.AsSpan(0, 3));
        long fixedV3 = it.GetPagesAllocV3(out pages, ulong.MaxValue, out start);
        Assert.Equal(2 * (long)P, fixedV3);
        Put(k.Memory, pages, fixedV3, start);
    }

    /// <summary>On the inputs the thread was about (aligned iovecs, one big buffer, bvecs) the posted
    /// code and the fixed one agree.</summary>
    [Fact]
    public void V3AsPostedAndFixedAgreeWhereTheBugsDoNotReach()
    {
        using var k = new KernelFixture(Seed);
        MapFilled(k, A, 8 * PageSize, 7);
        IoVec[] iov = [new(A + 100, P - 100), new(A + 2 * P, 2 * P), new(A + 5 * P, P)];
        var it = IovIter.Init(false, k.Mm, iov, 3, Sum(iov));
        long posted = it.GetPagesAllocV3AsPosted(out Page[]? a, ulong.MaxValue, out ulong s1);
        long fixedV3 = it.GetPagesAllocV3(out Page[]? b, ulong.MaxValue, out ulong s2);
        Assert.Equal(fixedV3, posted);
        Assert.Equal(s2, s1);
        Assert.Equal(b, a);
        Put(k.Memory, a, posted, s1);
        Put(k.Memory, b, fixedV3, s2);
    }
}
