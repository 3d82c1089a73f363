using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Iov;
using Kiov.Tests.Support;
using Kiov.Uaccess;
using static Kiov.Tests.Batch.BatchTestData;

namespace Kiov.Tests.Batch;

/// <summary>Al Viro's proposed primitive (<see cref="IovIter.ForEachPageBatch{TConsumer}"/>) and its first,
/// GetPages2-based form, on every kind the seed thread names.</summary>
[Collection(Kiov.Tests.Support.AllocationCollection.Name)]
public class PageBatchPrimitiveTests
{
    // s0 ends at a page end and s1 starts at one: one batch. s2 is misaligned: its own batch. s3 starts
    // aligned but follows a piece ending mid-page: a new batch, which the empty s4 does not break and s5
    // (aligned) continues.
    private static IoVec[] MixedIovec() =>
    [
        new(A + 100, P - 100), new(A + 2 * P, 2 * P), new(A + 5 * P + 8, 100),
        new(A + 7 * P, P), new(A + 9 * P, 0), new(A + 10 * P, 50),
    ];

    private static long Walk(ref IovIter it, ref Recorder r, ulong max = ulong.MaxValue, PageBatchFlags flags = PageBatchFlags.None) =>
        it.ForEachPageBatch(max, ref r, flags);

    [Fact]
    public void IovecBatchesCoalesceOnlyAcrossPageBoundariesAndCarryTheBytes()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 11 * PageSize, 1);
        IoVec[] iov = MixedIovec();
        var it = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        var r = new Recorder(k.Memory);
        Assert.Equal((long)Sum(iov), Walk(ref it, ref r));
        Assert.Equal([(100, 3, P - 100 + 2 * P), (8, 1, 100UL), (0, 2, P + 50)],
            r.Seen.Select(s => (s.Offset, s.Pages.Length, s.Bytes)));
        Assert.All(r.Seen, s => Assert.Equal(BatchHold.Pin, s.Hold));
        Assert.Equal(UserBytes(k, iov), r.Bytes());
        Assert.Equal(0UL, it.Count);
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
        Assert.True(NoPagePinned(k.Memory, r.Seen.SelectMany(s => s.Pages)));
    }

    private struct Counter : IPageBatchConsumer
    {
        public int Batches, MostPages;
        public ulong Bytes;
        public long Consume(scoped PageBatch batch)
        {
            Batches++;
            MostPages = Math.Max(MostPages, batch.Count);
            Bytes += batch.Bytes;
            return (long)batch.Bytes;
        }
    }

    [Fact]
    public void UpToSixteenPagesAllocateNothingAndLargerRequestsGetOneBufferCappedAt1024()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 1500 * PageSize, 2);
        var c = new Counter();
        var warm = IovIter.Ubuf(true, k.Mm, A + 100, 15 * P); // 16 pages
        warm.ForEachPageBatch(ulong.MaxValue, ref c);
        var it = IovIter.Ubuf(true, k.Mm, A + 100, 15 * P);
        c = new Counter();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long got = it.ForEachPageBatch(ulong.MaxValue, ref c);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal((long)(15 * P), got);
        Assert.Equal((1, 16), (c.Batches, c.MostPages));

        c = new Counter();
        var big = IovIter.Ubuf(true, k.Mm, A, 1500 * P);
        Assert.Equal((long)(1500 * P), big.ForEachPageBatch(ulong.MaxValue, ref c));
        Assert.Equal((2, 1024), (c.Batches, c.MostPages)); // 1024 + 476
        c = new Counter();
        var mid = IovIter.Ubuf(true, k.Mm, A, 17 * P);
        Assert.Equal((long)(17 * P), mid.ForEachPageBatch(ulong.MaxValue, ref c));
        Assert.Equal((1, 17), (c.Batches, c.MostPages));
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AHoleEndsTheBatchAndTheWalkReturnsWhatWasTaken()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 3 * PageSize, 3);
        MapFilled(k, A + 4 * P, 2 * PageSize, 4);
        var it = IovIter.Ubuf(true, k.Mm, A + 10, 6 * P - 10);
        var r = new Recorder(k.Memory);
        Assert.Equal((long)(3 * P - 10), Walk(ref it, ref r));
        Assert.Single(r.Seen);
        Assert.Equal(3 * P, it.Count);
        Assert.Equal(3 * P - 10, it.IovOffset);

        var atHole = IovIter.Ubuf(true, k.Mm, A + 3 * P + 5, 100);
        r = new Recorder(k.Memory);
        Assert.Equal(-Errno.EFAULT, Walk(ref atHole, ref r));
        Assert.Empty(r.Seen);
        Assert.Equal(100UL, atHole.Count);
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AShortPinEndsTheRunAndNothingPinnedIsLeftBehind()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, PageSize, 5);
        MapFilled(k, A + P, PageSize, 6, Prot.Read);   // a destination cannot pin this page for writing
        MapFilled(k, A + 4 * P, PageSize, 7);
        IoVec[] iov = [new(A, 2 * P), new(A + 4 * P, P)];
        var it = IovIter.Init(false, k.Mm, iov, 2, 3 * P);
        var r = new Recorder(k.Memory);
        Assert.Equal((long)P, Walk(ref it, ref r));
        Assert.Equal([(0, 1, P)], r.Seen.Select(s => (s.Offset, s.Pages.Length, s.Bytes)));
        Assert.Equal(2 * P, it.Count);
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AConsumerThatStopsEarlyGetsTheIteratorRevertedByTheRest()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 11 * PageSize, 8);
        IoVec[] iov = MixedIovec();
        byte[] all = UserBytes(k, iov);
        var it = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        var r = new Recorder(k.Memory) { Budget = 5000 };
        Assert.Equal(5000L, Walk(ref it, ref r));
        Assert.Single(r.Seen);
        Assert.Equal(Sum(iov) - 5000, it.Count);
        var rest = new byte[it.Count];
        Assert.Equal((ulong)rest.Length, it.CopyFromIter(rest));
        Assert.Equal(all[5000..], rest);

        // A consumer error on the second batch: the first batch's bytes; on the first: the error, nothing moved.
        var second = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        r = new Recorder(k.Memory) { FailBatch = 1 };
        Assert.Equal((long)(P - 100 + 2 * P), Walk(ref second, ref r));
        Assert.Equal(Sum(iov) - (P - 100 + 2 * P), second.Count);
        var first = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        r = new Recorder(k.Memory) { FailBatch = 0 };
        Assert.Equal(-Errno.EAGAIN, Walk(ref first, ref r));
        Assert.Equal(Sum(iov), first.Count);
        Assert.Equal((0, 0UL), (first.SegmentIndex, first.IovOffset));
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AConsumerThatTakesOwnershipKeepsThePinsAndTheRestAreReleased()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 11 * PageSize, 9);
        IoVec[] iov = MixedIovec();
        var it = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        var r = new Recorder(k.Memory) { Keep = true, Budget = P - 100 + P + 1 }; // two pages and a byte of the first batch
        Assert.Equal((long)r.Budget, Walk(ref it, ref r));
        Assert.Equal(3, r.KeptPages.Count);
        Assert.All(r.KeptPages, p => Assert.True(k.Memory.MaybeDmaPinned(p)));
        UserPages.UnpinUserPages(k.Kernel, r.KeptPages.ToArray());
        Assert.True(NoPagePinned(k.Memory, r.Seen.SelectMany(s => s.Pages)));

        var refs = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov)); // FOLL_GET instead: vmsplice's references
        r = new Recorder(k.Memory) { Keep = true };
        Assert.Equal((long)Sum(iov), Walk(ref refs, ref r, flags: PageBatchFlags.GetRefs));
        Assert.All(r.Seen, s => Assert.Equal(BatchHold.Ref, s.Hold));
        Assert.Equal(6, r.KeptPages.Count);
        UserPages.PutPages(k.Memory, r.KeptPages.ToArray());
    }

    [Fact]
    public void TheConsumerNeverRunsWithTheMmapLockHeldEvenAfterTheSlowPathFaulted()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 40 * P); // not populated: every pin goes through the slow path and its fault
        IoVec[] iov = [new(A + 3, 10 * P), new(A + 12 * P + 7, 20 * P), new(A + 33 * P, 5 * P)];
        var it = IovIter.Init(false, k.Mm, iov, 3, Sum(iov));
        var r = new Recorder(k.Memory);
        Assert.Equal((long)Sum(iov), Walk(ref it, ref r));
        Assert.Equal(3, r.Seen.Count);
        Assert.True(k.Kernel.Counters.SlowPathCalls > 0);
        Assert.All(r.Seen, s => Assert.False(s.LockHeld));

        // Called under the lock, the primitive refuses to run the consumer (a kernel BUG), for any kind.
        Page page = k.Memory.Alloc(PageOwner.KernelBuffer);
        var bv = IovIter.Bvec(true, k.Kernel, [new BioVec(page, 100, 0)], 1, 100);
        r = new Recorder(k.Memory);
        using (k.Mm.MmapLock.Read())
            Assert.Throws<KiovBugException>(() => { var b = bv; var rr = r; b.ForEachPageBatch(100, ref rr); });
        Assert.Empty(r.Seen);
        k.Memory.Put(page);
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AConsumerMayUnmapTheVeryRangeBeingWalked()
    {
        using var k = new KernelFixture();
        byte[] data = MapFilled(k, A, 8 * PageSize, 10);
        IoVec[] iov = [new(A + 100, 2 * P), new(A + 4 * P + 8, P)];
        var it = IovIter.Init(true, k.Mm, iov, 2, 3 * P);
        var r = new Recorder(k.Memory);
        Page[]? firstPages = null;
        byte[]? afterUnmap = null;
        r.OnBatch = i =>
        {
            if (i != 0) return;
            Assert.Equal(0, k.Mm.Munmap(A, 8 * P)); // takes the mmap lock for writing: none is held here
            firstPages = r.Seen[0].Pages;
            var again = new List<byte>(); // the pinned pages survive the unmap with their data
            for (int p = 0; p < firstPages.Length; p++)
                again.AddRange(k.Memory.Span(firstPages[p]).Slice(p == 0 ? 100 : 0, p == 0 ? PageSize - 100 : p == 2 ? 100 : PageSize).ToArray());
            afterUnmap = [.. again];
        };
        Assert.Equal((long)(2 * P), Walk(ref it, ref r)); // the second segment is gone: -EFAULT after one batch
        Assert.Equal(data.AsSpan(100, 2 * PageSize).ToArray(), afterUnmap);
        Assert.Equal(P, it.Count);
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AConsumerMayFaultAndMapWithoutDeadlock()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 4 * PageSize, 11);
        var it = IovIter.Ubuf(true, k.Mm, A + 1, 3 * P);
        var r = new Recorder(k.Memory);
        const ulong B = A + 0x100_0000;
        r.OnBatch = i =>
        {
            Assert.Equal((long)B + i * (long)P, k.Mm.Mmap(B + (ulong)i * P, P, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed));
            Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, B + (ulong)i * P, r.Seen[i].Data.AsSpan(0, 64))); // faults the page in
        };
        Assert.Equal((long)(3 * P), Walk(ref it, ref r));
        var back = new byte[64];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, B));
        Assert.Equal(r.Seen[0].Data[..64], back);
    }

    [Fact]
    public void KvecHandsItsOwnPagesAsPhysicalRunsWithoutReferences()
    {
        using var k = new KernelFixture();
        Page run = k.Memory.AllocContiguous(3, PageOwner.KernelBuffer);
        for (int i = 0; i < 3; i++) new Random(i).NextBytes(k.Memory.Span(run.Nth(i)));
        Page[] scattered = ScatteredPages(k.Memory, 2, 12);
        ulong vmap = k.Kernel.Vmap(scattered);
        ulong ka = PhysicalMemory.KernelAddress(run);
        IoVec[] kv = [new(ka + 100, 2 * P - 100), new(ka + 2 * P, P), new(vmap, 2 * P)];
        int refs = k.Memory.RefCount(run);
        var it = IovIter.Kvec(true, k.Kernel, kv, 3, Sum(kv));
        var r = new Recorder(k.Memory);
        Assert.Equal((long)Sum(kv), Walk(ref it, ref r));
        Assert.Equal([(run, 100, 3, 3 * P - 100), (scattered[0], 0, 1, P), (scattered[1], 0, 1, P)],
            r.Seen.Select(s => (s.Pages[0], s.Offset, s.Pages.Length, s.Bytes)));
        Assert.All(r.Seen, s => Assert.True(s.IsRun && s.Hold == BatchHold.None));
        var expect = k.Memory.Span(run).Slice(100).ToArray().Concat(k.Memory.Span(run.Nth(1)).ToArray())
            .Concat(k.Memory.Span(run.Nth(2)).ToArray()).Concat(k.Memory.Span(scattered[0]).ToArray()).Concat(k.Memory.Span(scattered[1]).ToArray());
        Assert.Equal(expect, r.Bytes());
        Assert.Equal(refs, k.Memory.RefCount(run));

        var stop = IovIter.Kvec(true, k.Kernel, kv, 3, Sum(kv));
        r = new Recorder(k.Memory) { Budget = 5000 };
        Assert.Equal(5000L, Walk(ref stop, ref r));
        Assert.Equal((0, 5000UL, Sum(kv) - 5000), (stop.SegmentIndex, stop.IovOffset, stop.Count));

        k.Kernel.Vunmap(vmap, 2);
        foreach (var p in scattered) k.Memory.Put(p);
        for (int i = 0; i < 3; i++) k.Memory.Put(run.Nth(i));
    }

    [Fact]
    public void BvecPiecesChainOnlyWhenPhysicallyContiguous()
    {
        using var k = new KernelFixture();
        Page[] s = ScatteredPages(k.Memory, 3, 13);
        Page run = k.Memory.AllocContiguous(2, PageOwner.KernelBuffer);
        Assert.NotEqual(run.Pfn + 2, s[2].Pfn);
        BioVec[] bv = [new(s[0], (uint)P, 0), new(s[1], 100, 50), new(run, (uint)(2 * P - 10), 10), new(s[2], (uint)P, 0)];
        ulong total = 2 * P + 100 + 2 * P - 10;
        var it = IovIter.Bvec(true, k.Kernel, bv, 4, total);
        var r = new Recorder(k.Memory);
        Assert.Equal((long)total, Walk(ref it, ref r));
        Assert.Equal([(s[0], 0, 1, P), (s[1], 50, 1, 100UL), (run, 10, 2, 2 * P - 10), (s[2], 0, 1, P)],
            r.Seen.Select(b => (b.Pages[0], b.Offset, b.Pages.Length, b.Bytes)));
        var expect = k.Memory.Span(s[0]).ToArray().Concat(k.Memory.Span(s[1]).Slice(50, 100).ToArray())
            .Concat(k.Memory.Span(run).Slice(10).ToArray()).Concat(k.Memory.Span(run.Nth(1)).ToArray()).Concat(k.Memory.Span(s[2]).ToArray());
        Assert.Equal(expect, r.Bytes());

        var stop = IovIter.Bvec(true, k.Kernel, bv, 4, total);
        r = new Recorder(k.Memory) { Budget = P + 100 + 7 };
        Assert.Equal((long)(P + 107), Walk(ref stop, ref r));
        Assert.Equal((2, 7UL), (stop.SegmentIndex, stop.IovOffset));
        foreach (var p in s) k.Memory.Put(p);
        k.Memory.Put(run);
        k.Memory.Put(run.Nth(1));
    }

    [Fact]
    public void XarrayStopsAtAHoleAndTakesNoReferences()
    {
        using var k = new KernelFixture();
        var cache = new PageCache(k.Memory);
        foreach (long i in new long[] { 0, 1, 2, 4 })
        {
            Page p = cache.FindOrCreate(i);
            new Random((int)i).NextBytes(k.Memory.Span(p));
            k.Memory.Put(p);
        }
        var it = IovIter.XarrayOf(true, k.Kernel, cache, 100, 5 * P - 100);
        var r = new Recorder(k.Memory);
        Assert.Equal((long)(3 * P - 100), Walk(ref it, ref r));
        var expect = Enumerable.Range(0, 3).SelectMany(i => k.Memory.Span(cache.Find(i)).ToArray()).Skip(100);
        Assert.Equal(expect, r.Bytes());
        Assert.All(r.Seen, s => Assert.Equal(BatchHold.None, s.Hold));
        Assert.Equal(2 * P, it.Count);
        Assert.Equal(1, k.Memory.RefCount(cache.Find(0)));
        r = new Recorder(k.Memory);
        Assert.Equal(0L, Walk(ref it, ref r)); // at the hole
        cache.RemoveFrom(0);
    }

    [Fact]
    public void PipeBuffersAreReservedOnePageAtATimeAndWhatIsNotTakenIsReleased()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        static byte Pat(int i) => (byte)(i * 7 + 3);
        using (var pipe = new TestPipe(k.Memory))
        {
            var it = IovIter.PipeOf(false, k.Kernel, pipe, 10000);
            Assert.Equal(100UL, it.CopyToIter(new byte[100]));
            var r = new Recorder(k.Memory) { Fill = Pat };
            Assert.Equal(9900L, Walk(ref it, ref r));
            Assert.Equal([(100, 3996UL), (0, P), (0, 9900 - 3996 - P)], r.Seen.Select(s => (s.Offset, s.Bytes)));
            Assert.Equal(new byte[100].Concat(Enumerable.Range(0, 9900).Select(Pat)), pipe.Contents());
        }
        using (var pipe = new TestPipe(k.Memory))
        {
            var it = IovIter.PipeOf(false, k.Kernel, pipe, 10000);
            var r = new Recorder(k.Memory) { Fill = Pat, Budget = 5000 };
            Assert.Equal(5000L, Walk(ref it, ref r));
            Assert.Equal(2U, pipe.Head);
            Assert.Equal(5000U - (uint)PageSize, pipe[1].Len);
            Assert.Equal(5000UL, it.Count);
        }
        using (var pipe = new TestPipe(k.Memory, 2))
        {
            var it = IovIter.PipeOf(false, k.Kernel, pipe, 10000);
            var r = new Recorder(k.Memory) { Fill = Pat };
            Assert.Equal((long)(2 * P), Walk(ref it, ref r)); // the ring is full after two buffers
            var full = IovIter.PipeOf(false, k.Kernel, pipe, 10);
            Assert.Equal(-Errno.EFAULT, Walk(ref full, ref r));
        }
    }

    [Fact]
    public void BuiltOnGetPages2EachBatchIsOneSegmentWithReferencesAndKvecIsRefused()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 11 * PageSize, 14);
        IoVec[] iov = MixedIovec();
        var it = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        var r = new Recorder(k.Memory);
        long pinsBefore = k.Kernel.Counters.PinsAcquired;
        Assert.Equal((long)Sum(iov), it.ForEachPageBatchViaGetPages2(ulong.MaxValue, ref r));
        Assert.Equal(5, r.Seen.Count); // one per non-empty segment
        Assert.All(r.Seen, s => Assert.Equal(BatchHold.Ref, s.Hold));
        Assert.Equal(UserBytes(k, iov), r.Bytes());
        Assert.Equal(pinsBefore, k.Kernel.Counters.PinsAcquired);

        var early = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        r = new Recorder(k.Memory) { Budget = 5000, Keep = true };
        Assert.Equal(5000L, early.ForEachPageBatchViaGetPages2(ulong.MaxValue, ref r));
        Assert.Equal(Sum(iov) - 5000, early.Count);
        UserPages.PutPages(k.Memory, r.KeptPages.ToArray());

        Page page = k.Memory.Alloc(PageOwner.KernelBuffer);
        var kv = IovIter.Kvec(true, k.Kernel, [new(PhysicalMemory.KernelAddress(page), 10)], 1, 10);
        r = new Recorder(k.Memory);
        Assert.Equal(-Errno.EFAULT, kv.ForEachPageBatchViaGetPages2(10, ref r));
        var bv = IovIter.Bvec(true, k.Kernel, [new BioVec(page, 10, 5)], 1, 10);
        Assert.Equal(10L, bv.ForEachPageBatchViaGetPages2(10, ref r));
        Assert.Equal(k.Memory.Span(page).Slice(5, 10).ToArray(), r.Bytes());
        k.Memory.Put(page);
    }

    /// <summary>Al's first step (Feb 2017) on the 4.10 preset: the 2017 non-advancing iov_iter_get_pages,
    /// then iov_iter_advance over what the consumer took; references, one segment per batch.</summary>
    [Fact]
    public void OnThe2017GetPagesEachBatchIsOneSegmentThenAnAdvance()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        MapFilled(k, A, 11 * PageSize, 15);
        IoVec[] iov = MixedIovec();
        var it = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        var r = new Recorder(k.Memory);
        Assert.Equal((long)Sum(iov), it.ForEachPageBatchOnGetPages2017(ulong.MaxValue, ref r));
        Assert.Equal(0UL, it.Count);
        Assert.Equal(5, r.Seen.Count);
        Assert.All(r.Seen, s => Assert.Equal(BatchHold.Ref, s.Hold));
        Assert.Equal(UserBytes(k, iov), r.Bytes());
        var early = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        r = new Recorder(k.Memory) { Budget = 5000 };
        Assert.Equal(5000L, early.ForEachPageBatchOnGetPages2017(ulong.MaxValue, ref r));
        Assert.Equal(Sum(iov) - 5000, early.Count);
        using var now = new KernelFixture();
        MapFilled(now, A, PageSize, 1);
        var current = IovIter.Ubuf(true, now.Mm, A, 10);
        Assert.Throws<InvalidOperationException>(() => { var rr = new Recorder(now.Memory); current.ForEachPageBatchOnGetPages2017(10, ref rr); });
    }

    /// <summary>Before 5.6 there is no FOLL_PIN: the primitive takes references on a 2017 preset.</summary>
    [Fact]
    public void On2017KernelsThePrimitiveTakesReferencesNotPins()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        MapFilled(k, A, 11 * PageSize, 16);
        IoVec[] iov = MixedIovec();
        var it = IovIter.Init(true, k.Mm, iov, iov.Length, Sum(iov));
        var r = new Recorder(k.Memory);
        Assert.Equal((long)Sum(iov), Walk(ref it, ref r));
        Assert.All(r.Seen, s => Assert.Equal(BatchHold.Ref, s.Hold));
        Assert.Equal(0, k.Kernel.Counters.PinsAcquired);
    }
}
