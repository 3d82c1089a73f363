using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>
/// The user copy's page loop where its lane for the pages after the first of a run hands back to
/// the general path: a step into another leaf table, a frame that does not follow the run, an
/// entry without its accessed or dirty bit, a hole. Each copy must give the same bytes and stop
/// at the same byte as a page-by-page copy would.
/// </summary>
public unsafe class UserAccessRunTests
{
    private const ulong Mib2 = 2UL << 20;
    private const ulong Base = KernelFixture.Arena + 3 * Mib2 - 24 * 4096UL; // 24 pages below a 2 MiB line
    private const int Pages = 48;

    [Fact]
    public void CopyAcrossALeafTableBoundaryRoundTrips()
    {
        using var k = new KernelFixture();
        k.MapAnon(Base, Pages * 4096UL);
        byte[] src = Pattern(Pages * 4096, 3);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, Base + 100, src.AsSpan(100)));
        var back = new byte[src.Length - 200];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, Base + 100));
        Assert.True(back.AsSpan().SequenceEqual(src.AsSpan(100, back.Length)));
    }

    [Fact]
    public void FramesFaultedInDescendingOrderAreCopiedPageByPage()
    {
        using var k = new KernelFixture();
        k.MapAnon(Base, Pages * 4096UL);
        for (int i = Pages - 1; i >= 0; i--) // each fault takes the next frame: no two pages in physical order
            Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, Base + (ulong)i * 4096, new byte[] { 1 }));
        Assert.NotEqual(Pte.Pfn(k.Mm.ReadPte(Base)) + 1, Pte.Pfn(k.Mm.ReadPte(Base + 4096)));
        byte[] src = Pattern(Pages * 4096, 5);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, Base, src));
        var back = new byte[src.Length];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, Base));
        Assert.True(back.AsSpan().SequenceEqual(src));
    }

    [Fact]
    public void EntriesWithoutAccessedOrDirtyGetThemInTheMiddleOfARun()
    {
        using var k = new KernelFixture();
        k.MapAnon(Base, Pages * 4096UL);
        byte[] src = Pattern(Pages * 4096, 7);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, Base, src));
        ulong a = Base + 5 * 4096, d = Base + 30 * 4096;
        ClearBits(k, a, Pte.Accessed | Pte.Dirty);
        ClearBits(k, d, Pte.Dirty);
        var back = new byte[src.Length];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, Base)); // a read sets Accessed only
        Assert.True(back.AsSpan().SequenceEqual(src));
        Assert.Equal(Pte.Accessed, k.Mm.ReadPte(a) & (Pte.Accessed | Pte.Dirty));
        Assert.Equal(0UL, k.Mm.ReadPte(d) & Pte.Dirty);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, Base, src)); // a write sets both
        Assert.Equal(Pte.Accessed | Pte.Dirty, k.Mm.ReadPte(a) & (Pte.Accessed | Pte.Dirty));
        Assert.Equal(Pte.Accessed | Pte.Dirty, k.Mm.ReadPte(d) & (Pte.Accessed | Pte.Dirty));
    }

    [Theory]
    [InlineData(3)]   // inside the first gate entry, below the 2 MiB line
    [InlineData(23)]  // the last page below the line
    [InlineData(24)]  // the first page of the next leaf table
    [InlineData(40)]
    public void AHoleInTheMiddleOfARunStopsTheCopyThere(int hole)
    {
        using var k = new KernelFixture();
        k.MapAnon(Base, Pages * 4096UL);
        byte[] src = Pattern(Pages * 4096, 11);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, Base, src));
        Assert.Equal(0, k.Mm.Munmap(Base + (ulong)hole * 4096, 4096));
        ulong copied = (ulong)hole * 4096 - 10;
        var back = new byte[src.Length - 10];
        Assert.Equal((ulong)back.Length - copied, UserAccess.CopyFromUser(k.Mm, back, Base + 10));
        Assert.True(back.AsSpan(0, (int)copied).SequenceEqual(src.AsSpan(10, (int)copied)));
        Assert.Equal((ulong)back.Length - copied, UserAccess.CopyToUser(k.Mm, Base + 10, back));
    }

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    // What reclaim's ptep_test_and_clear_young (or a writeback's clean) does to an entry.
    private static void ClearBits(KernelFixture k, ulong addr, ulong bits)
    {
        ulong* pte = PageTables.Lookup(k.Memory, k.Mm.Pgd, addr, out bool huge);
        Assert.False(huge);
        Assert.True(pte != null);
        Interlocked.And(ref *pte, ~bits);
    }
}
