using System.Diagnostics;
using System.Runtime.CompilerServices;
using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>What keeps the tables a <see cref="PageTableCursor"/> remembers from being freed under it.</summary>
internal enum CursorGuard : byte
{
    /// <summary>The caller is inside the <see cref="WalkerGate"/> (the kernel's IRQs-off or RCU
    /// section of a lockless walk: GUP-fast, the MMU's walk for a user copy). Tables may be
    /// unlinked meanwhile, but not freed until the caller leaves; an unlinked table is empty.</summary>
    WalkerGate,

    /// <summary>The caller holds the mmap lock (read or write) of the owner: page tables are freed
    /// only under the write lock (<c>free_pgtables</c>), so a table found stays linked and valid until
    /// the lock is dropped.</summary>
    MmapLock,
}

/// <summary>
/// A walk of the four-level tables that remembers the last leaf (PTE) table it reached, so that the
/// next page in the same 2 MiB costs one index instead of four levels: what the kernel's
/// <c>pte_offset_map</c> does for a <c>walk_page_range</c> or a <c>gup_fast_pte_range</c> loop, and
/// what the TLB gives the MMU. One cursor serves the fault path, the user copies and both GUP paths.
/// </summary>
/// <remarks>
/// <para>A cursor is valid only under the protection it was made for (<see cref="Guard"/>, checked in
/// debug builds): the remembered table could otherwise be freed and reused. Whoever drops that
/// protection (leaves the gate, drops the mmap lock for a fault) calls <see cref="Reset"/> or makes a
/// new cursor. Entries are always read afresh (<see cref="Pte.Read"/>); only the way to the table is
/// remembered. A struct, so a walk allocates nothing.</para>
/// </remarks>
internal unsafe struct PageTableCursor
{
    private const int LeafShift = 21; // one PTE table maps 2 MiB

    private readonly PhysicalMemory _mem;
    private readonly int _root;
    private readonly object? _guardOwner; // the gate or the mmap lock, for the debug check
    private ulong* _table;    // the last PTE table reached, or null
    private ulong _region;    // its address >> LeafShift
    private ulong* _pmdp;     // the PMD entry that pointed at it
    private ulong _pmd;       // and what that entry held when it was read

    /// <summary>A cursor over the tables under frame <paramref name="root"/> (a PGD), valid under
    /// <paramref name="guard"/>, whose owner (<paramref name="guardOwner"/>: the <see cref="WalkerGate"/>
    /// or the <see cref="MmapLock"/>) debug builds check the calling thread holds.</summary>
    public PageTableCursor(PhysicalMemory mem, int root, CursorGuard guard, object guardOwner)
    {
        _mem = mem;
        _root = root;
        Guard = guard;
        _guardOwner = guardOwner;
    }

    /// <summary>The protection the cursor is valid under.</summary>
    public CursorGuard Guard { get; }

    /// <summary>The PMD entry through which the last leaf table was reached (<c>pmdp</c> in
    /// <c>gup_fast_pte_range</c>), for a walker that re-checks it after taking a page.</summary>
    public readonly ulong* LeafPmdEntry => _pmdp;

    /// <summary>What <see cref="LeafPmdEntry"/> held when it was read.</summary>
    public readonly ulong LeafPmdValue => _pmd;

    /// <summary>Forgets the remembered table: the caller dropped the protection (a fault, the gate left).</summary>
    public void Reset() => _table = null;

    /// <summary>
    /// <c>pte_offset_map</c> after the upper levels: the PTE of <paramref name="addr"/>, by one index
    /// when it lies in the table reached last, else by a walk from the root; null where a level is
    /// empty (or a 1 GiB leaf, which the model does not have). A 2 MiB leaf is returned as its PMD
    /// entry, with <paramref name="huge"/> set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong* Find(ulong addr, out bool huge)
    {
        huge = false;
        if (_table != null && (addr >> LeafShift) == _region) return _table + PageTables.Index(addr, 0);
        return Walk(addr, out huge);
    }

    /// <summary>True when <paramref name="addr"/> lies in the 2 MiB <paramref name="region"/> (as
    /// <see cref="RememberLeaf"/> gave it): its PTE is then one index into the same leaf table. The
    /// cursor's own check, for a walker that keeps the leaf table in locals of its loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InLeafRegion(ulong addr, ulong region) => (addr >> LeafShift) == region;

    /// <summary><c>pte_offset_map</c> within a known leaf table: the PTE of <paramref name="addr"/>
    /// in <paramref name="table"/>, which maps the 2 MiB region of <paramref name="addr"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* LeafEntry(ulong* table, ulong addr) => table + PageTables.Index(addr, 0);

    /// <summary>The leaf table and 2 MiB region of the PTE <paramref name="pte"/> that
    /// <see cref="Find"/> returned for <paramref name="addr"/> (not a 2 MiB leaf), for
    /// <see cref="InLeafRegion"/> and <see cref="LeafEntry"/>. Valid under the cursor's protection only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RememberLeaf(ulong* pte, ulong addr, out ulong* table, out ulong region)
    {
        table = pte - PageTables.Index(addr, 0);
        region = addr >> LeafShift;
    }

    private ulong* Walk(ulong addr, out bool huge)
    {
        huge = false;
        ulong* pmdp = FindPmd(addr);
        if (pmdp == null) return null;
        ulong pmd = Pte.Read(pmdp);
        if ((pmd & Pte.Present) == 0) return null;
        if ((pmd & Pte.Huge) != 0)
        {
            huge = true;
            return pmdp;
        }
        return EnterTable(addr, pmdp, pmd);
    }

    /// <summary>
    /// <c>pmd_offset</c> after <c>pgd_offset</c>/<c>pud_offset</c>: the PMD entry of
    /// <paramref name="addr"/>, or null where an upper level is absent or a leaf.
    /// </summary>
    public readonly ulong* FindPmd(ulong addr)
    {
        AssertGuarded();
        int table = _root;
        for (int level = 3; level > 1; level--)
        {
            ulong v = Pte.Read(PageTables.Entry(_mem, table, PageTables.Index(addr, level)));
            if ((v & (Pte.Present | Pte.Huge)) != Pte.Present) return null;
            table = Pte.Pfn(v);
        }
        return PageTables.Entry(_mem, table, PageTables.Index(addr, 1));
    }

    /// <summary>
    /// <c>pte_offset_map(pmd, addr)</c>: the PTE of <paramref name="addr"/> in the table that the
    /// present, non-leaf PMD value <paramref name="pmd"/> (read from <paramref name="pmdp"/>) points
    /// at, which the cursor remembers from now on.
    /// </summary>
    public ulong* EnterTable(ulong addr, ulong* pmdp, ulong pmd)
    {
        _table = (ulong*)_mem.TablePointer(new Page(Pte.Pfn(pmd)));
        _region = addr >> LeafShift;
        _pmdp = pmdp;
        _pmd = pmd;
        return _table + PageTables.Index(addr, 0);
    }

    /// <summary>
    /// <c>pte_alloc</c> then <c>pte_offset_map</c>: the PTE of <paramref name="addr"/>, adding the
    /// missing tables (with <paramref name="tableBits"/> in the upper entries). Null only when memory
    /// is exhausted. Only under <see cref="CursorGuard.MmapLock"/>. A 2 MiB leaf on the way is a bug.
    /// </summary>
    public ulong* FindOrAlloc(ulong addr, ulong tableBits = Pte.UserTable)
    {
        if (Guard != CursorGuard.MmapLock) ThrowHelper.Bug("pte_alloc needs the mmap lock, not the walker gate");
        AssertGuarded();
        if (_table != null && (addr >> LeafShift) == _region) return _table + PageTables.Index(addr, 0);
        ulong* pte = PageTables.LookupOrAlloc(_mem, _root, addr, tableBits, out ulong* pmdp, out ulong pmd);
        if (pte == null) return null;
        _table = pte - PageTables.Index(addr, 0);
        _region = addr >> LeafShift;
        _pmdp = pmdp;
        _pmd = pmd;
        return pte;
    }

    [Conditional("DEBUG")]
    private readonly void AssertGuarded()
    {
        switch (_guardOwner)
        {
            case WalkerGate gate: gate.AssertEntered(); break;
            case MmapLock mmapLock: mmapLock.AssertLocked(); break;
        }
    }
}
