using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>The one page-table cursor of the fault path, user copies and GUP: it finds what the
/// full walk finds, by one index inside the table it reached last, and only under its guard.</summary>
public unsafe class PageTableCursorTests
{
    private const ulong TwoMiB = 2UL << 20;

    [Fact]
    public void Finds_what_the_walk_finds_and_remembers_the_leaf_table()
    {
        using var f = new KernelFixture();
        ulong a = KernelFixture.Arena, b = KernelFixture.Arena + TwoMiB; // two leaf tables
        f.MapAnon(a, 3 * TwoMiB);
        Assert.Equal(0UL, UserAccess.ClearUser(f.Mm, a + 5 * 4096, 4096));
        Assert.Equal(0UL, UserAccess.ClearUser(f.Mm, b + 7 * 4096, 4096));
        int token = f.Kernel.Gate.Enter();
        try
        {
            var cursor = new PageTableCursor(f.Memory, f.Mm.Pgd, CursorGuard.WalkerGate, f.Kernel.Gate);
            ulong* p5 = cursor.Find(a + 5 * 4096, out bool huge);
            Assert.False(huge);
            Assert.True(p5 == PageTables.Lookup(f.Memory, f.Mm.Pgd, a + 5 * 4096, out _));
            ulong* leafPmd = cursor.LeafPmdEntry;
            Assert.True(leafPmd != null);
            Assert.Equal(Pte.Read(leafPmd), cursor.LeafPmdValue);
            // The same table: one index on, no new walk (the PMD entry it came through is the same).
            Assert.True(cursor.Find(a + 6 * 4096, out _) == p5 + 1);
            Assert.True(cursor.LeafPmdEntry == leafPmd);
            // Another 2 MiB: a walk to the other table.
            ulong* p7 = cursor.Find(b + 7 * 4096, out _);
            Assert.True(p7 == PageTables.Lookup(f.Memory, f.Mm.Pgd, b + 7 * 4096, out _));
            Assert.True(cursor.LeafPmdEntry == leafPmd + 1);
            // Where no table exists, nothing (and the cursor still knows its last table).
            Assert.True(cursor.Find(KernelFixture.Arena + 512 * TwoMiB, out _) == null);
            Assert.True(cursor.Find(b + 8 * 4096, out _) == p7 + 1);
        }
        finally { f.Kernel.Gate.Exit(token); }
    }

    [Fact]
    public void FindOrAlloc_adds_the_tables_under_the_mmap_lock_and_is_refused_in_the_gate()
    {
        using var f = new KernelFixture();
        ulong a = f.MapAnon(KernelFixture.Arena, TwoMiB);
        f.Mm.MmapLock.ReadLock();
        try
        {
            var cursor = new PageTableCursor(f.Memory, f.Mm.Pgd, CursorGuard.MmapLock, f.Mm.MmapLock);
            ulong* pte = cursor.FindOrAlloc(a + 3 * 4096);
            Assert.True(pte != null);
            Assert.Equal(0UL, Pte.Read(pte));
            Assert.True(cursor.FindOrAlloc(a + 4 * 4096) == pte + 1);
            Assert.True(PageTables.Lookup(f.Memory, f.Mm.Pgd, a + 3 * 4096, out _) == pte);
        }
        finally { f.Mm.MmapLock.ReadUnlock(); }
        int token = f.Kernel.Gate.Enter();
        try
        {
            var gated = new PageTableCursor(f.Memory, f.Mm.Pgd, CursorGuard.WalkerGate, f.Kernel.Gate);
            Assert.Throws<KiovBugException>(() => gated.FindOrAlloc(a));
        }
        finally { f.Kernel.Gate.Exit(token); }
    }

#if DEBUG
    [Fact]
    public void A_cursor_used_without_its_guard_is_a_bug()
    {
        using var f = new KernelFixture();
        ulong a = f.MapAnon(KernelFixture.Arena, TwoMiB);
        var gated = new PageTableCursor(f.Memory, f.Mm.Pgd, CursorGuard.WalkerGate, f.Kernel.Gate);
        Assert.Throws<KiovBugException>(() => gated.FindPmd(a));
        var locked = new PageTableCursor(f.Memory, f.Mm.Pgd, CursorGuard.MmapLock, f.Mm.MmapLock);
        Assert.Throws<KiovBugException>(() => locked.FindOrAlloc(a));
    }
#endif
}
