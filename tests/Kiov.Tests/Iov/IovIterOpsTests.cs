using System.Buffers;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Iov;

/// <summary>A pipe ring for tests (what the Fs layer's pipe implements): 16 slots, released on truncate.</summary>
internal sealed class TestPipe(PhysicalMemory memory, uint slots = 16) : IPipeRing, IDisposable
{
    private readonly PipeBuffer[] _bufs = new PipeBuffer[slots];
    public uint Head { get; private set; }
    public uint Tail { get; private set; }
    public uint MaxUsage => slots;
    public PipeBuffer this[uint index] => _bufs[index % slots];
    public void Push(in PipeBuffer buffer) => _bufs[Head++ % slots] = buffer;
    public void SetLength(uint index, uint len) => _bufs[index % slots] = _bufs[index % slots] with { Len = len };
    public void Truncate(uint head)
    {
        while (Head != head) memory.Put(_bufs[--Head % slots].Page);
    }
    public byte[] Contents() => Enumerable.Range(0, (int)(Head - Tail))
        .SelectMany(i => { var b = this[Tail + (uint)i]; return memory.Span(b.Page).Slice((int)b.Offset, (int)b.Len).ToArray(); }).ToArray();
    public void Dispose() => Truncate(Tail);
}

public class IovIterOpsTests
{
    private const ulong A = KernelFixture.Arena;
    private const int PageSize = PageGeometry.PageSize;

    private static byte[] Bytes(int n, int seed = 1) { var b = new byte[n]; new Random(seed).NextBytes(b); return b; }

    [Fact]
    public void PipeCopiesFillTheLastOwnBufferThenFreshPagesAndRevertReleasesThem()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        using var pipe = new TestPipe(k.Memory);
        var it = IovIter.PipeOf(false, k.Kernel, pipe, 10000);
        var data = Bytes(5100);
        Assert.Equal(100UL, it.CopyToIter(data.AsSpan(0, 100)));
        Assert.Equal(1U, pipe.Head);
        Assert.Equal(5000UL, it.CopyToIter(data.AsSpan(100, 5000)));
        Assert.Equal(2U, pipe.Head);
        Assert.Equal((uint)PageSize, pipe[0].Len);
        Assert.Equal(5100U - PageSize, pipe[1].Len);
        Assert.Equal(data, pipe.Contents());
        Assert.Equal(4900UL, it.Count);

        it.Revert(5100 - PageSize + 10); // back into the first buffer: the second is released
        Assert.Equal(1U, pipe.Head);
        Assert.Equal((uint)PageSize - 10, pipe[0].Len);
        Assert.Equal(4900UL + 5100 - PageSize + 10, it.Count);
        Assert.Equal(10UL, it.Zero(10));
        Assert.Equal(data.AsSpan(0, PageSize - 10).ToArray().Concat(new byte[10]), pipe.Contents());
        it.Revert(PageSize);                // all the way back to where the iterator started
        Assert.Equal(0U, pipe.Head);
        Assert.Equal(0UL, it.IovOffset);
    }

    [Fact]
    public void PipeCopyPageToIterLendsThePageAndMergesAContinuation()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        var cache = new PageCache(k.Memory);
        Page page = cache.FindOrCreate(0);
        Bytes(PageSize).CopyTo(k.Memory.Span(page));
        using (var pipe = new TestPipe(k.Memory, 2))
        {
            var it = IovIter.PipeOf(false, k.Kernel, pipe, 1000);
            int refs = k.Memory.RefCount(page);
            Assert.Equal(100UL, it.CopyPageToIter(page, 0, 100));
            Assert.Equal(PipeBufferKind.PageCache, pipe[0].Kind);
            Assert.Equal(refs + 1, k.Memory.RefCount(page));
            Assert.Equal(50UL, it.CopyPageToIter(page, 100, 50)); // continues the same page: merged
            Assert.Equal(1U, pipe.Head);
            Assert.Equal(150U, pipe[0].Len);
            Assert.Equal(10UL, it.CopyToIter(new byte[10]));   // a lent page is never appended to
            Assert.Equal(2U, pipe.Head);
            Assert.Equal(PipeBufferKind.Anon, pipe[1].Kind);
            Assert.Equal(0UL, it.CopyPageToIter(page, 0, 10)); // the ring is full
            Assert.Equal(k.Memory.Span(page)[..150].ToArray().Concat(new byte[10]), pipe.Contents());
            Assert.Equal(0UL, it.CopyFromIter(new byte[5]));   // destination only
        }
        k.Memory.Put(page);
        cache.RemoveFrom(0);
    }

    [Fact]
    public void WrongDirectionAndMissingKindsAreRefusedAsTheKernelRefusesThem()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        using var pipe = new TestPipe(k.Memory);
        Assert.Throws<KiovBugException>(() => IovIter.PipeOf(true, k.Kernel, pipe, 10));
        Assert.Throws<KiovBugException>(() => IovIter.Discard(true, 10));
        using var now = new KernelFixture();
        Assert.Throws<InvalidOperationException>(() => IovIter.PipeOf(false, now.Kernel, pipe, 10));
        var discard = IovIter.Discard(false, 100);
        Page p = k.Memory.Alloc(PageOwner.KernelBuffer);
        Assert.Equal(0UL, discard.CopyPageFromIter(p, 0, 10));
        Assert.Equal(10UL, discard.CopyPageToIter(p, 0, 10));
        Assert.Equal(90UL, discard.Count);
        Assert.Equal(uint.MaxValue, discard.GapAlignment());
        Assert.Equal(-Errno.EFAULT, discard.ExtractPages(ref NoPages.Array, 10, 1, ExtractionFlags.None, out _));
        k.Memory.Put(p);
    }

    private static class NoPages { public static Page[]? Array; }

    [Fact]
    public void CopyPageChecksTheRangeAgainstTheCompoundPage()
    {
        using var k = new KernelFixture();
        Page run = k.Memory.AllocContiguous(2, PageOwner.KernelBuffer);
        var data = Bytes(2 * PageSize);
        data.CopyTo(PageRuns.AsSpan(k.Memory, run, 0, 2 * PageSize));
        var dst = new byte[300];
        var it = IovIter.Managed(false, [dst.AsMemory()], 1, 300, k.Kernel);
        Assert.Equal(0UL, it.CopyPageToIter(run, PageSize - 100, 300));          // order 0: beyond the page
        Assert.Equal(300UL, it.CopyPageToIter(run, PageSize - 100, 300, order: 1)); // across the two subpages
        Assert.Equal(data.AsSpan(PageSize - 100, 300).ToArray(), dst);
        var src = IovIter.Managed(true, [new Memory<byte>(Bytes(64, 2))], 1, 64, k.Kernel);
        Assert.Equal(64UL, src.CopyPageFromIter(run, 10, 64));
        Assert.Equal(Bytes(64, 2), k.Memory.Span(run).Slice(10, 64).ToArray());
        k.Memory.Put(run); k.Memory.Put(run.Nth(1));
    }

    [Fact]
    public void GetPages2TakesReferencesOnTheFirstNonEmptySegmentAndAdvances()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4 * PageSize);
        IoVec[] iov = [new(A, 0), new(A + 100, 2 * PageSize), new(A + 3 * PageSize, 50)];
        var it = IovIter.Init(false, k.Mm, iov, 3, 2 * PageSize + 50);
        var pages = new Page[8];
        long r = it.GetPages2(pages, 1 << 20, 8, out ulong start);
        Assert.Equal(2L * PageSize, r);                 // the whole first non-empty segment, not the next
        Assert.Equal(100UL, start);
        Assert.Equal(50UL, it.Count);
        Assert.Equal(2, it.SegmentIndex);
        for (int i = 0; i < 3; i++) Assert.Equal(2, k.Memory.RefCount(pages[i])); // mapped + ours
        UserPages.PutPages(k.Memory, pages.AsSpan(0, 3));
        Assert.Equal(0, it.GetPages2(pages, 100, 0, out _));
        Assert.Equal(50L, it.GetPagesAlloc2(out Page[]? alloc, 100, out start));
        Assert.Single(alloc!);
        UserPages.PutPages(k.Memory, alloc);
        var kv = IovIter.Kvec(true, k.Kernel, [new(PhysicalMemory.KernelAddress(pages[0]), 10)], 1, 10);
        Assert.Equal(-Errno.EFAULT, kv.GetPages2(pages, 10, 1, out _));
    }

    [Fact]
    public void ExtractPagesPinsUserPagesAndTakesNothingForKernelOnes()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * PageSize);
        var u = IovIter.Ubuf(true, k.Mm, A + 10, 2 * PageSize - 10);
        Assert.True(u.ExtractWillPin);
        Page[]? pages = null;
        Assert.Equal(2L * PageSize - 10, u.ExtractPages(ref pages, 1 << 20, 16, ExtractionFlags.None, out ulong off));
        Assert.Equal(2, pages!.Length);                 // allocated to fit
        Assert.Equal(10UL, off);
        Assert.All(pages, p => Assert.True(k.Memory.MaybeDmaPinned(p)));
        UserPages.UnpinUserPages(k.Kernel, pages);

        Page run = k.Memory.AllocContiguous(3, PageOwner.KernelBuffer);
        BioVec[] bvecs = [new(run, PageSize - 5, 5), new(run.Nth(1), 100, 16), new(run.Nth(2), PageSize, 0)];
        var bv = IovIter.Bvec(false, k.Kernel, bvecs, 3, 2 * PageSize + 95);
        Assert.False(bv.ExtractWillPin);
        pages = null;
        Assert.Equal(PageSize - 5L, bv.ExtractPages(ref pages, 1 << 20, 16, ExtractionFlags.None, out off)); // the next piece's offset ends the chain
        Assert.Equal(5UL, off);
        Assert.Equal(100L, bv.ExtractPages(ref pages, 1 << 20, 16, ExtractionFlags.None, out off));          // and so does an end short of the page
        Assert.Equal(16UL, off);
        Assert.Equal((long)PageSize, bv.ExtractPages(ref pages, 1 << 20, 16, ExtractionFlags.None, out off));
        Assert.Equal(run.Nth(2), pages![0]);
        var whole = IovIter.Bvec(false, k.Kernel, [new BioVec(run, 3 * PageSize - 5, 5)], 1, 3 * PageSize - 5);
        pages = null;
        Assert.Equal(3L * PageSize - 5, whole.ExtractPages(ref pages, 1 << 20, 16, ExtractionFlags.None, out off)); // pieces chain across pages
        Assert.Equal(new[] { run, run.Nth(1), run.Nth(2) }, pages);
        for (int i = 0; i < 3; i++) { Assert.Equal(1, k.Memory.RefCount(run.Nth(i))); k.Memory.Put(run.Nth(i)); }
    }

    [Fact]
    public void TheSeedErasGetPagesDoesNotAdvanceAndExistsOnlyBehindItsSwitch()
    {
        using var old = new KernelFixture(KernelConfig.Linux2017);
        old.MapAnon(A, 2 * PageSize);
        var it = IovIter.Init(false, old.Mm, [new(A + 8, PageSize)], 1, PageSize);
        var pages = new Page[4];
        Assert.Equal((long)PageSize, it.GetPages(pages, 1 << 20, 4, out ulong start));
        Assert.Equal(8UL, start);
        Assert.Equal((ulong)PageSize, it.Count);        // not advanced: the caller does that
        UserPages.PutPages(old.Memory, pages.AsSpan(0, 2));
        Page run = old.Memory.AllocContiguous(2, PageOwner.KernelBuffer);
        var bv = IovIter.Bvec(false, old.Kernel, [new BioVec(run, 2 * PageSize - 16, 16)], 1, 2 * PageSize - 16);
        Assert.Equal(PageSize - 16L, bv.GetPagesAlloc(out Page[]? one, 1 << 20, out start)); // one page piece
        Assert.Equal(new[] { run }, one);
        old.Memory.Put(run); old.Memory.Put(run); old.Memory.Put(run.Nth(1));
        var kv = IovIter.Kvec(false, old.Kernel, [new(PhysicalMemory.KernelAddress(run), 1)], 1, 1);
        Assert.Equal(-Errno.EFAULT, kv.GetPages(pages, 1, 1, out _));

        using var now = new KernelFixture();
        var cur = IovIter.Ubuf(false, now.Mm, A, 10);
        Assert.Throws<InvalidOperationException>(() => cur.GetPages(pages, 10, 1, out _));
    }

    [Fact]
    public void GeometryQueriesFollowTheKernelsFormulas()
    {
        using var k = new KernelFixture();
        IoVec[] iov = [new(0x10200, 0x200), new(0x20000, 0), new(0x30000, 0x1000), new(0x41000, 0x10)];
        var it = IovIter.Init(true, k.Mm, iov, 4, 0x1208);
        Assert.Equal(0x10200UL | 0x200 | 0x30000 | 0x1000 | 0x41000 | 0x8, it.Alignment());
        Assert.Equal(0x30000UL | 0x10400 | 0x41000 | 0x31000, it.GapAlignment());
        Assert.Equal(1 + 1 + 1, it.NPages(100));
        Assert.Equal(2, it.NPages(2));
        Assert.True(it.IsAligned(0x1ff, 0x7));
        Assert.False(it.IsAligned(0x3ff, 0x7));
        Assert.Equal(0UL, IovIter.Ubuf(true, k.Mm, A, 5).GapAlignment());
        Assert.Equal((A + 3) | 5, IovIter.Ubuf(true, k.Mm, A + 3, 5).Alignment());
        Assert.Equal(0x200UL, it.SingleSegCount());
        Assert.True(it.DupIter(out var dup));
        it.Advance(0x200);                              // lands past the empty segment, as the kernel's advance does
        Assert.Equal(2, it.SegmentIndex);
        Assert.NotSame(iov, dup.Iovecs);
        Assert.Equal(0x1208UL, dup.Count);
    }

    [Fact]
    public void FaultInReportsTheBytesNotFaultedIn()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * PageSize);
        k.MapAnon(A + 3 * PageSize, PageSize, Prot.Read);
        var it = IovIter.Ubuf(false, k.Mm, A + 100, 3 * PageSize);
        Assert.Equal((ulong)PageSize + 100, it.FaultInReadable(3 * PageSize)); // the hole at the third page
        Assert.Equal(0UL, it.FaultInReadable(2 * PageSize - 100));
        Assert.Equal(10UL, IovIter.Ubuf(false, k.Mm, A, 100).FaultInWriteable(110)); // asked beyond the count
        var ro = IovIter.Init(false, k.Mm, [new(A + PageSize, 10), new(A + 3 * PageSize, 50)], 2, 60);
        Assert.Equal(0UL, ro.FaultInReadable(60));
        Assert.Equal(50UL, ro.FaultInWriteable(60));                 // the read-only page cannot be written
        Assert.Equal(0UL, IovIter.Discard(10).FaultInReadable(10));
    }

    private sealed class Seg : ReadOnlySequenceSegment<byte>
    {
        public Seg(byte[] b, Seg? prev)
        {
            Memory = b;
            if (prev != null) { prev.Next = this; RunningIndex = prev.RunningIndex + prev.Memory.Length; }
        }
    }

    [Fact]
    public void ManagedSegmentsAndSequencesRunOnTheSameSkeleton()
    {
        var a = Bytes(100, 3);
        var b = Bytes(50, 4);
        var first = new Seg(a, null);
        var last = new Seg(b, first);
        var src = IovIter.FromSequence(new ReadOnlySequence<byte>(first, 0, last, 50));
        Assert.True(src.IsSource);
        var dst1 = new byte[70];
        var dst2 = new byte[80];
        var dst = IovIter.Managed(false, dst1.AsMemory(), Memory<byte>.Empty, dst2.AsMemory());
        var mid = new byte[150];
        Assert.Equal(150UL, src.CopyFromIter(mid));
        Assert.Equal(150UL, dst.CopyToIter(mid));
        Assert.Equal(a.Concat(b), dst1.Concat(dst2));
        dst.Revert(85);
        Assert.Equal(0, dst.SegmentIndex);
        Assert.Equal(65UL, dst.IovOffset);
        Assert.Equal(-Errno.EFAULT, dst.GetPages2(new Page[1], 10, 1, out _));
    }
}
