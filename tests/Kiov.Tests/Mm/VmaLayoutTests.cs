using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>VMA split and merge, checked against a plain per-page model of protections.</summary>
public class VmaLayoutTests
{
    private const ulong A = KernelFixture.Arena;
    private const ulong Pg = 4096;
    private const int P = MapFlags.Private | MapFlags.Anonymous, F = MapFlags.Fixed, RW = Prot.Read | Prot.Write;
    private const int Hole = -1;

    // The areas a per-page protection array should give: maximal runs of equal protection (private
    // anonymous areas that touch and agree always merge).
    private static List<(ulong Start, ulong End, int Prot)> Runs(int[] prot)
    {
        var runs = new List<(ulong, ulong, int)>();
        for (int i = 0; i < prot.Length;)
        {
            int j = i;
            while (j < prot.Length && prot[j] == prot[i]) j++;
            if (prot[i] != Hole) runs.Add((A + (ulong)i * Pg, A + (ulong)j * Pg, prot[i]));
            i = j;
        }
        return runs;
    }

    private static void AssertLayout(KernelFixture k, int[] prot, string context)
    {
        var actual = k.Mm.Maps().Select(v => (v.Start, v.End, Prot: (int)(v.Flags & VmFlags.AccessMask))).ToList();
        Assert.True(Runs(prot).SequenceEqual(actual),
            $"{context}: expected [{string.Join(", ", Runs(prot).Select(r => $"{r.Start:x}-{r.End:x}:{r.Prot}"))}] got [{string.Join(", ", actual.Select(r => $"{r.Start:x}-{r.End:x}:{r.Prot}"))}]");
        k.Mm.CheckInvariants();
    }

    // Every page i holds i+1 in its first byte; each is readable/writable exactly as prot says.
    private static void AssertPages(KernelFixture k, int[] prot, string context)
    {
        var b = new byte[1];
        for (int i = 0; i < prot.Length; i++)
        {
            ulong a = A + (ulong)i * Pg;
            bool readable = prot[i] > 0, writable = prot[i] == RW;
            Assert.True(UserAccess.CopyFromUser(k.Mm, b, a) == (readable ? 0UL : 1UL), $"{context}: read page {i}");
            if (readable) Assert.True(b[0] == i + 1, $"{context}: page {i} holds {b[0]}");
            b[0] = (byte)(i + 1);
            Assert.True(UserAccess.CopyToUser(k.Mm, a, b) == (writable ? 0UL : 1UL), $"{context}: write page {i}");
        }
    }

    private static int[] MapLayout(KernelFixture k, int[] layout)
    {
        Assert.Equal(0, k.Mm.Munmap(A, (ulong)layout.Length * Pg));
        int mapped = Array.FindLastIndex(layout, p => p != Hole) + 1;
        k.MapAnon(A, (ulong)mapped * Pg);
        for (int i = 0; i < mapped; i++) Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A + (ulong)i * Pg, new[] { (byte)(i + 1) }));
        for (int i = 0; i < layout.Length; i++)
            if (layout[i] == Hole) Assert.Equal(0, k.Mm.Munmap(A + (ulong)i * Pg, Pg));
            else if (layout[i] != RW) Assert.Equal(0, k.Mm.Mprotect(A + (ulong)i * Pg, Pg, layout[i]));
        return (int[])layout.Clone();
    }

    [Theory]
    [InlineData(Prot.None)]
    [InlineData(Prot.Read)]
    [InlineData(RW)]
    public void MprotectOfEverySubRangeOfAFourAreaLayoutMatchesThePerPageModel(int prot)
    {
        using var k = new KernelFixture();
        // Four areas of four pages (RW, R, RW, NONE), then a hole.
        int[] layout = [.. Enumerable.Range(0, 16).Select(i => (i / 4) switch { 0 => RW, 1 => Prot.Read, 2 => RW, _ => Prot.None }), Hole];
        int[] model = MapLayout(k, layout);
        AssertLayout(k, model, "layout");
        for (int lo = 0; lo < layout.Length; lo++)
            for (int hi = lo + 1; hi <= layout.Length; hi++)
            {
                model = MapLayout(k, layout);
                int r = k.Mm.Mprotect(A + (ulong)lo * Pg, (ulong)(hi - lo) * Pg, prot);
                // Linux: a range that starts in a hole changes nothing; one that runs into a hole
                // changes the areas before it and then says ENOMEM.
                int expected = hi == layout.Length ? -Errno.ENOMEM : 0;
                for (int i = lo; i < hi && model[i] != Hole; i++) model[i] = prot;
                string ctx = $"mprotect [{lo},{hi}) to {prot}";
                Assert.True(expected == r, $"{ctx}: returned {r}");
                AssertLayout(k, model, ctx);
                AssertPages(k, model, ctx);
            }
    }

    [Fact]
    public void MmapIntoTheMiddleSplitsAndMmapBackMerges()
    {
        using var k = new KernelFixture();
        int[] model = MapLayout(k, [.. Enumerable.Repeat(RW, 16)]);
        AssertLayout(k, model, "one area");
        Assert.Equal((long)(A + 6 * Pg), k.Mm.Mmap(A + 6 * Pg, 4 * Pg, Prot.Read, P | F));
        for (int i = 6; i < 10; i++) model[i] = Prot.Read;
        AssertLayout(k, model, "read-only middle");
        var b = new byte[1];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, b, A + 7 * Pg));
        Assert.Equal(0, b[0]); // a fresh mapping replaced the old pages
        // Straddling the boundary of two areas, with the same protection as the first: merges with it.
        Assert.Equal((long)(A + 8 * Pg), k.Mm.Mmap(A + 8 * Pg, 4 * Pg, RW, P | F));
        for (int i = 8; i < 12; i++) model[i] = RW;
        AssertLayout(k, model, "straddle");
        Assert.Equal((long)(A + 6 * Pg), k.Mm.Mmap(A + 6 * Pg, 2 * Pg, RW, P | F));
        model[6] = model[7] = RW;
        AssertLayout(k, model, "merged back");
        Assert.Single(k.Mm.Maps());
        Assert.Equal(16 - 6, k.Mm.CheckInvariants().MappedPages); // six pages were replaced and never touched since
    }

    [Fact]
    public void MunmapOfTheMiddleLeavesTwoAreasWithTheirData()
    {
        using var k = new KernelFixture();
        int[] model = MapLayout(k, [.. Enumerable.Repeat(RW, 16)]);
        Assert.Equal(0, k.Mm.Munmap(A + 5 * Pg, 3 * Pg));
        for (int i = 5; i < 8; i++) model[i] = Hole;
        AssertLayout(k, model, "hole in the middle");
        Assert.Equal(13, k.Mm.CheckInvariants().MappedPages);
        model[5] = model[6] = model[7] = 0;
        for (int i = 5; i < 8; i++) Assert.Equal(1UL, UserAccess.CopyFromUser(k.Mm, new byte[1], A + (ulong)i * Pg));
        AssertPages(k, [.. model.Select(p => p == 0 ? Prot.None : p)], "after munmap");
        // Filling the hole again merges the three into one.
        k.MapAnon(A + 5 * Pg, 3 * Pg);
        Assert.Single(k.Mm.Maps());
    }

    [Fact]
    public void SharedAnonymousMemorySplitsMergesAndKeepsItsDataAcrossDontNeed()
    {
        using var k = new KernelFixture();
        const int S = MapFlags.Shared | MapFlags.Anonymous | F;
        Assert.Equal((long)A, k.Mm.Mmap(A, 8 * Pg, RW, S));
        for (int i = 0; i < 8; i++) Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A + (ulong)i * Pg, new[] { (byte)(i + 1) }));
        // Linux: MADV_DONTNEED on a shared mapping drops the entries, not the shmem pages.
        Assert.Equal(0, k.Mm.Madvise(A, 8 * Pg, Madv.DontNeed));
        Assert.Equal(0, k.Mm.CheckInvariants().MappedPages);
        int[] shared = [.. Enumerable.Repeat(RW, 8)];
        AssertPages(k, shared, "after DONTNEED");
        Assert.Equal(0, k.Mm.Mprotect(A + 2 * Pg, 2 * Pg, Prot.Read));
        Assert.Equal(3, k.Mm.Maps().Count);
        Assert.Equal(0, k.Mm.Mprotect(A + 2 * Pg, 2 * Pg, RW));
        var one = Assert.Single(k.Mm.Maps());
        Assert.True(one.IsShared && !one.IsAnonymous);
        Assert.Equal(0, k.Mm.Munmap(A + 3 * Pg, 2 * Pg)); // both sides keep the object and its data
        shared[3] = shared[4] = Prot.None;
        AssertPages(k, shared, "after munmap of the middle");
        // An adjacent separate shared mapping never merges with it (another object).
        Assert.Equal((long)(A + 3 * Pg), k.Mm.Mmap(A + 3 * Pg, 2 * Pg, RW, S));
        Assert.Equal(3, k.Mm.Maps().Count);
    }

    [Fact]
    public void PopulateFaultsEveryAccessiblePageIn()
    {
        using var k = new KernelFixture();
        Assert.Equal((long)A, k.Mm.Mmap(A, 8 * Pg, RW, P | F | MapFlags.Populate));
        Assert.Equal(8, k.Mm.CheckInvariants().MappedPages);
        for (int i = 0; i < 8; i++) Assert.True((k.Mm.ReadPte(A + (ulong)i * Pg) & (Pte.Present | Pte.Write)) == (Pte.Present | Pte.Write));
        Assert.Equal((long)(A + 16 * Pg), k.Mm.Mmap(A + 16 * Pg, 4 * Pg, Prot.None, P | F | MapFlags.Populate));
        Assert.Equal(8, k.Mm.CheckInvariants().MappedPages);
        Assert.Equal((long)(A + 32 * Pg), k.Mm.Mmap(A + 32 * Pg, 4 * Pg, Prot.Read, MapFlags.Shared | MapFlags.Anonymous | F | MapFlags.Populate));
        Assert.Equal(12, k.Mm.CheckInvariants().MappedPages);
    }
}
