using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

public class TeardownTests
{
    private const ulong Pg = 4096;

    [Fact]
    public void MunmapOfEveryRangeAcrossATableBoundaryFreesExactlyWhatItShould()
    {
        using var k = new KernelFixture();
        // 16 pages, 8 on each side of a 2 MiB boundary: two PTE tables under one PMD and one PUD.
        const ulong B = KernelFixture.Arena + (2UL << 20) - 8 * Pg;
        int baseline = k.Memory.FreeFrames;
        var data = new byte[16 * Pg];
        for (int lo = 0; lo < 16; lo++)
            for (int hi = lo + 1; hi <= 16; hi++)
            {
                k.MapAnon(B, 16 * Pg);
                Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, B, data));
                Assert.Equal(new MmCensus(1, 4, 16), k.Mm.CheckInvariants());
                Assert.Equal(0, k.Mm.Munmap(B + (ulong)lo * Pg, (ulong)(hi - lo) * Pg));
                int left = 16 - (hi - lo);
                int pteTables = CountTables(lo, hi);
                int tables = pteTables == 0 ? 0 : pteTables + 2; // and the PMD and PUD above them
                var census = k.Mm.CheckInvariants();
                Assert.True(census.MappedPages == left && census.Tables == tables,
                    $"munmap [{lo},{hi}): {census}, expected {left} pages, {tables} tables");
                Assert.Equal(baseline - tables - left, k.Memory.FreeFrames);
                Assert.Equal(0, k.Mm.Munmap(B, 16 * Pg));
                Assert.Equal(new MmCensus(0, 0, 0), k.Mm.CheckInvariants());
                Assert.Equal(baseline, k.Memory.FreeFrames);
            }
    }

    // PTE tables still holding a page after munmap [lo, hi) of pages 0..15 (0..7 in the first table).
    private static int CountTables(int lo, int hi)
    {
        bool first = Enumerable.Range(0, 8).Any(i => i < lo || i >= hi);
        bool second = Enumerable.Range(8, 8).Any(i => i < lo || i >= hi);
        return (first ? 1 : 0) + (second ? 1 : 0);
    }

    [Fact]
    public void AfterDisposeOnlyTheKernelsReservedFramesRemain()
    {
        using var mem = new PhysicalMemory(16L << 20);
        var kernel = new KernelSpace(mem);
        int reservedBefore = mem.FrameCount - mem.FreeFrames;
        var mm = new AddressSpace(kernel);
        using var file = new TestFile(mem, 4);
        Assert.True(mm.Mmap(KernelFixture.Arena, 64 * Pg, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate) > 0);
        Assert.True(mm.Mmap(0x3000_0000_0000, 4 * Pg, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate) > 0);
        Assert.True(mm.Mmap(0x5000_0000_0000, 4 * Pg, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Fixed, file) > 0);
        Assert.Equal(0UL, UserAccess.CopyToUser(mm, 0x5000_0000_0000, new byte[2 * Pg])); // copy-on-write of two file pages
        Assert.Equal(0UL, UserAccess.CopyFromUser(mm, new byte[2 * Pg], 0x5000_0000_2000)); // two page-cache pages mapped
        Assert.True(mm.Mmap(0x7000_0000_0000, 4 * Pg, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.GrowsDown) > 0);
        Assert.Equal(0UL, UserAccess.CopyToUser(mm, 0x7000_0000_0000 - 3 * Pg, new byte[1])); // stack growth
        mm.Dispose();
        file.Dispose();
        Assert.Equal(0, file.Maps);
        Assert.Equal(reservedBefore, mem.FrameCount - mem.FreeFrames);
        Assert.Empty(mem.LeakReport());
        for (int pfn = 0; pfn < mem.FrameCount; pfn++)
        {
            var f = mem.Flags(new Page(pfn));
            Assert.True((f & (PageFlags.Free | PageFlags.Reserved)) != 0, $"pfn {pfn}: {f}");
        }
        mm.Dispose(); // a second exit_mmap is a no-op
    }
}
