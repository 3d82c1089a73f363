using Kiov.Memory;

namespace Kiov.Tests.Memory;

public class PhysicalMemoryTests
{
    private static PhysicalMemory Small() => new(64 * PageGeometry.PageSize);

    [Fact]
    public void DoubleFreeIsABug()
    {
        using var mem = Small();
        Page p = mem.Alloc(PageOwner.KernelBuffer);
        mem.Put(p);
        var e = Assert.Throws<KiovBugException>(() => mem.Put(p));
        Assert.Contains("put_page", e.Message);
        Assert.Throws<KiovBugException>(() => mem.Get(p)); // get_page on a free page
        Assert.Throws<KiovBugException>(() => mem.Unpin(p));
    }

    [Fact]
    public void UseAfterFreeIsABug()
    {
        using var mem = Small();
        Page p = mem.Alloc(PageOwner.KernelBuffer);
        mem.Put(p);
        var e = Assert.Throws<KiovBugException>(() => mem.Span(p));
        Assert.Contains("use after free", e.Message);
        Assert.False(mem.TryGetUnlessZero(p)); // a lockless walker cannot resurrect it
        Assert.False(mem.TryPin(p));
    }

    [Fact]
    public unsafe void WriteAfterFreeIsDetectedWhenTheFrameIsReused()
    {
        using var mem = Small();
        Page p = mem.Alloc(PageOwner.KernelBuffer);
        byte* stale = mem.Pointer(p);
        mem.Put(p);
        Assert.Equal(PhysicalMemory.PoisonByte, stale[100]);
        stale[100] = 1; // a write through a pointer kept past the free
        var e = Assert.Throws<KiovBugException>(() => mem.Alloc(PageOwner.KernelBuffer)); // LIFO: p comes back first
        Assert.Contains("poison disturbed", e.Message);
    }

    [Fact]
    public unsafe void WithoutPoisoningAFreedFrameKeepsItsBytesButIsStillOffLimits()
    {
        using var mem = Small();
        Assert.True(mem.PagePoisoning); // on unless turned off, as every fixture runs
        mem.PagePoisoning = false;
        Page p = mem.Alloc(PageOwner.KernelBuffer);
        byte* stale = mem.Pointer(p);
        mem.Span(p).Fill(9);
        mem.Put(p);
        Assert.Equal(9, stale[100]); // not poisoned: the page_poison=0 kernel leaves the bytes
        Assert.Contains("use after free", Assert.Throws<KiovBugException>(() => mem.Span(p)).Message);
        Page q = mem.Alloc(PageOwner.KernelBuffer, zero: false);
        Assert.Equal(p, q);
        mem.Put(q);
        // Turned back on, a frame freed while it was off is reused unchecked, and frames freed from
        // now on are poisoned and checked again.
        mem.PagePoisoning = true;
        Page r = mem.Alloc(PageOwner.KernelBuffer);
        byte* rs = mem.Pointer(r);
        mem.Put(r);
        Assert.Equal(PhysicalMemory.PoisonByte, rs[100]);
        rs[100] = 1;
        Assert.Contains("poison disturbed", Assert.Throws<KiovBugException>(() => mem.Alloc(PageOwner.KernelBuffer)).Message);
    }

    [Fact]
    public unsafe void UndisturbedPoisonIsReusedZeroedOrNot()
    {
        using var mem = Small();
        Page p = mem.Alloc(PageOwner.KernelBuffer);
        mem.Span(p).Fill(9);
        mem.Put(p);
        Page q = mem.Alloc(PageOwner.KernelBuffer, zero: false);
        Assert.Equal(p, q);
        Assert.True(mem.Span(q).IndexOfAnyExcept(PhysicalMemory.PoisonByte) < 0);
        mem.Put(q);
        Page z = mem.Alloc(PageOwner.KernelBuffer);
        Assert.True(mem.Span(z).IndexOfAnyExcept((byte)0) < 0);
        mem.Put(z);
    }

    [Fact]
    public void PinBiasAndMaybeDmaPinned()
    {
        using var mem = Small();
        Page p = mem.Alloc(PageOwner.Anon);
        Assert.False(mem.MaybeDmaPinned(p));
        Assert.True(mem.TryPin(p));
        Assert.Equal(1 + PhysicalMemory.PinBias, mem.RefCount(p));
        Assert.True(mem.MaybeDmaPinned(p));
        Assert.True(mem.TryPin(p, 2));
        Assert.Equal(1 + 3 * PhysicalMemory.PinBias, mem.RefCount(p));
        mem.Unpin(p); mem.Unpin(p); mem.Unpin(p);
        Assert.False(mem.MaybeDmaPinned(p));
        // 1023 plain references look like no pin; the 1024th is a false positive, as in the kernel.
        for (int i = 0; i < PhysicalMemory.PinBias - 2; i++) mem.Get(p);
        Assert.False(mem.MaybeDmaPinned(p));
        mem.Get(p);
        Assert.True(mem.MaybeDmaPinned(p));
        for (int i = 0; i < PhysicalMemory.PinBias - 1; i++) mem.Put(p);
        Assert.Equal(1, mem.RefCount(p));
        // A pin that would overflow the count is refused.
        Assert.False(mem.TryPin(p, int.MaxValue / PhysicalMemory.PinBias + 1));
        mem.Put(p);
        Assert.Empty(mem.LeakReport());
    }

    [Fact]
    public void UnpinOfTheLastReferenceFreesTheFrame()
    {
        using var mem = Small();
        int free = mem.FreeFrames;
        Page p = mem.Alloc(PageOwner.Anon);
        Assert.True(mem.TryPin(p));
        mem.Put(p);
        Assert.Equal(PhysicalMemory.PinBias, mem.RefCount(p));
        mem.Unpin(p);
        Assert.Equal(free, mem.FreeFrames);
        Assert.True((mem.Flags(p) & PageFlags.Free) != 0);
    }

    [Fact]
    public void AllocContiguousGivesConsecutiveFramesAndConsecutiveKernelAddresses()
    {
        using var mem = Small();
        var singles = Enumerable.Range(0, 10).Select(_ => mem.Alloc(PageOwner.KernelBuffer)).ToList();
        foreach (var s in singles.Where((_, i) => i % 2 == 0)) mem.Put(s); // fragment the low frames
        Page first = mem.AllocContiguous(8, PageOwner.KernelBuffer);
        Assert.False(first.IsNull);
        for (int i = 0; i < 8; i++)
        {
            Page p = first.Nth(i);
            Assert.DoesNotContain(p, singles.Where((_, j) => j % 2 == 1));
            Assert.Equal(1, mem.RefCount(p));
            Assert.Equal(PageOwner.KernelBuffer, mem.Owner(p));
            Assert.Equal(PhysicalMemory.KernelAddress(first) + (ulong)i * PageGeometry.PageSize, PhysicalMemory.KernelAddress(p));
            Assert.True(mem.TryDirectMapToPage(PhysicalMemory.KernelAddress(p) + 5, out Page back) && back == p);
        }
        // A frame taken by Alloc afterwards is never one of the run.
        var rest = new List<Page>();
        for (Page p; !(p = mem.Alloc(PageOwner.KernelBuffer)).IsNull;) rest.Add(p);
        Assert.True(rest.All(p => p.Pfn < first.Pfn || p.Pfn >= first.Pfn + 8));
        Assert.True(mem.AllocContiguous(2, PageOwner.KernelBuffer).IsNull); // exhausted
        Assert.Equal(0, mem.FreeFrames);
        foreach (var p in rest) mem.Put(p);
        for (int i = 0; i < 8; i++) mem.Put(first.Nth(i));
        foreach (var s in singles.Where((_, i) => i % 2 == 1)) mem.Put(s);
        Assert.Empty(mem.LeakReport());
        Assert.Throws<ArgumentOutOfRangeException>(() => mem.AllocContiguous(0, PageOwner.KernelBuffer));
    }

    [Fact]
    public void LeakReportNamesOwnerCountsAndPin()
    {
        using var mem = Small();
        Page anon = mem.Alloc(PageOwner.Anon);
        mem.SetFlags(anon, PageFlags.Anon | PageFlags.Dirty);
        mem.AddMap(anon);
        Assert.True(mem.TryPin(anon));
        Page table = mem.Alloc(PageOwner.PageTable);
        Page reserved = mem.Alloc(PageOwner.Kernel);
        mem.Reserve(reserved);
        var leaks = mem.LeakReport();
        Assert.Equal([anon, table], leaks.Select(l => l.Page));
        Assert.Equal(new FrameLeak(anon, PageOwner.Anon, 1 + PhysicalMemory.PinBias, 1, PageFlags.Dirty | PageFlags.Anon), leaks[0]);
        Assert.Equal($"pfn {anon.Pfn}: Anon, refcount 1025 (pinned), mapcount 1, Dirty, Anon", leaks[0].ToString());
        Assert.Equal($"pfn {table.Pfn}: PageTable, refcount 1, mapcount 0, None", leaks[1].ToString());
        mem.Put(anon);
        Assert.Throws<KiovBugException>(() => mem.Unpin(anon)); // freeing a mapped page is a bug
        mem.RemoveMap(anon);
        Assert.Throws<KiovBugException>(() => mem.RemoveMap(anon)); // mapcount below zero
    }

    [Fact]
    public void FrameZeroIsReservedAndBadFramesAreBugs()
    {
        using var mem = Small();
        Assert.True((mem.Flags(Page.Null) & PageFlags.Reserved) != 0);
        Assert.Throws<KiovBugException>(() => mem.Put(Page.Null));
        Assert.Throws<KiovBugException>(() => mem.RefCount(new Page(mem.FrameCount)));
        Assert.False(mem.TryDirectMapToPage(PhysicalMemory.DirectMapBase + (ulong)mem.Size, out _));
        Assert.False(mem.TryDirectMapToPage(PhysicalMemory.DirectMapBase - 1, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemory(4096));
    }
}
