using System.Runtime.CompilerServices;
using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>
/// Four-level x86-64 page tables stored in frames of physical memory: a PGD, PUDs, PMDs and PTE
/// tables of 512 64-bit entries each. Walks read entries atomically and may run without any lock;
/// tables are added with a compare-and-swap, so concurrent faults under the mmap read lock can
/// populate the same range (<c>__pte_alloc</c> under the page-table lock).
/// </summary>
internal static unsafe class PageTables
{
    /// <summary>Entries per table.</summary>
    public const int Entries = 512;

    /// <summary>The shift of each level: 39 (PGD), 30 (PUD), 21 (PMD), 12 (PTE).</summary>
    public static int Shift(int level) => 12 + 9 * level;

    /// <summary>The index of <paramref name="addr"/> in a table of <paramref name="level"/> (3 = PGD ... 0 = PTE).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Index(ulong addr, int level) => (int)((addr >> (12 + 9 * level)) & (Entries - 1));

    /// <summary>The address of entry <paramref name="index"/> of the table in frame <paramref name="table"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* Entry(PhysicalMemory mem, int table, int index) =>
        (ulong*)mem.TablePointer(new Page(table)) + index;

    /// <summary>
    /// Walks from <paramref name="pgd"/> to the PTE of <paramref name="addr"/> without allocating
    /// (<c>pte_offset_map</c> after the upper levels): returns null where a level is empty.
    /// A 2 MiB leaf at PMD level is returned as its PMD entry, with <paramref name="huge"/> set.
    /// Callable without locks, inside the <see cref="WalkerGate"/>.
    /// </summary>
    public static ulong* Lookup(PhysicalMemory mem, int pgd, ulong addr, out bool huge)
    {
        huge = false;
        int table = pgd;
        for (int level = 3; level > 0; level--)
        {
            ulong* e = Entry(mem, table, Index(addr, level));
            ulong v = Pte.Read(e);
            if ((v & Pte.Present) == 0) return null;
            if ((v & Pte.Huge) != 0)
            {
                if (level != 1) return null; // the model has no 1 GiB leaves
                huge = true;
                return e;
            }
            table = Pte.Pfn(v);
        }
        return Entry(mem, table, Index(addr, 0));
    }

    /// <summary>
    /// Walks to the PTE of <paramref name="addr"/>, adding missing tables (<c>pte_alloc</c>). Returns
    /// null only when memory is exhausted. Caller holds the mmap lock (read or write) of the owner.
    /// </summary>
    public static ulong* LookupOrAlloc(PhysicalMemory mem, int pgd, ulong addr, ulong tableBits = Pte.UserTable) =>
        LookupOrAlloc(mem, pgd, addr, tableBits, out _, out _);

    /// <summary>
    /// <see cref="LookupOrAlloc(PhysicalMemory, int, ulong, ulong)"/> that also gives the PMD entry
    /// on the way (<paramref name="pmdp"/>) and what it held (<paramref name="pmd"/>), for a
    /// <see cref="PageTableCursor"/> to remember the table.
    /// </summary>
    public static ulong* LookupOrAlloc(PhysicalMemory mem, int pgd, ulong addr, ulong tableBits, out ulong* pmdp, out ulong pmd)
    {
        pmdp = null;
        pmd = 0;
        int table = pgd;
        for (int level = 3; level > 0; level--)
        {
            ulong* e = Entry(mem, table, Index(addr, level));
            ulong v = Pte.Read(e);
            if ((v & Pte.Present) == 0)
            {
                bool user = (tableBits & Pte.User) != 0;
                Page fresh = mem.Alloc(user ? PageOwner.PageTable : PageOwner.Kernel);
                if (fresh.IsNull) return null;
                mem.SetFlags(fresh, user ? PageFlags.PageTable : PageFlags.PageTable | PageFlags.Reserved);
                ulong entry = Pte.Make(fresh.Pfn, tableBits);
                if (Pte.CompareExchange(e, entry, v)) v = entry;
                else { mem.Put(fresh); v = Pte.Read(e); }
            }
            if ((v & Pte.Huge) != 0) throw new KiovBugException($"page-table walk to 0x{addr:x} met a huge leaf");
            if (level == 1) { pmdp = e; pmd = v; }
            table = Pte.Pfn(v);
        }
        return Entry(mem, table, Index(addr, 0));
    }

    /// <summary>
    /// Frees the tables under the user half of <paramref name="pgd"/> that cover only [start, end) and
    /// hold no entry any more (<c>free_pgtables</c>), handing each frame to <paramref name="gather"/>
    /// so that it is freed after lockless walkers have left. Caller holds the mmap write lock.
    /// </summary>
    public static void FreeEmptyTables(PhysicalMemory mem, int pgd, ulong start, ulong end, MmuGather gather)
    {
        if (start >= end) return;
        FreeLevel(mem, pgd, 3, 0, start, end, gather);
    }

    // Returns true when the table at 'table' (of 'level') became entirely empty.
    private static bool FreeLevel(PhysicalMemory mem, int table, int level, ulong tableBase, ulong start, ulong end, MmuGather gather)
    {
        ulong span = 1UL << Shift(level);
        int limit = level == 3 ? Entries / 2 : Entries; // the PGD's upper half is the kernel's
        for (int i = 0; i < limit; i++)
        {
            ulong lo = tableBase + (ulong)i * span, hi = lo + span;
            if (hi <= start || lo >= end) continue;
            ulong* e = Entry(mem, table, i);
            ulong v = Pte.Read(e);
            if ((v & Pte.Present) == 0 || level == 0) continue;
            int child = Pte.Pfn(v);
            bool childEmpty = level == 1 ? IsEmpty(mem, child) : FreeLevel(mem, child, level - 1, lo, start, end, gather);
            if (childEmpty)
            {
                Pte.Clear(e);
                gather.FreeTable(new Page(child));
            }
        }
        return IsEmpty(mem, table);
    }

    private static bool IsEmpty(PhysicalMemory mem, int table) =>
        new ReadOnlySpan<ulong>(Entry(mem, table, 0), Entries).IndexOfAnyExcept(0UL) < 0;

    /// <summary>Receives each PTE slot of a range (a struct, so the walk is specialised and allocates nothing).</summary>
    internal interface IEntryVisitor
    {
        /// <summary>Called for a PTE slot whose table exists; <paramref name="addr"/> is the page it maps.</summary>
        void Visit(ulong* pte, ulong addr);
    }

    /// <summary>
    /// Visits every PTE slot of [start, end) in tables that exist, skipping empty upper levels whole
    /// (<c>walk_page_range</c>). Caller holds the mmap lock, or is inside the gate and only reads.
    /// </summary>
    public static void ForEachEntry<TVisitor>(PhysicalMemory mem, int pgd, ulong start, ulong end, ref TVisitor visitor)
        where TVisitor : struct, IEntryVisitor
    {
        if (start < end) Visit(mem, pgd, 3, 0, start, end, ref visitor);
    }

    private static void Visit<TVisitor>(PhysicalMemory mem, int table, int level, ulong tableBase, ulong start, ulong end, ref TVisitor visitor)
        where TVisitor : struct, IEntryVisitor
    {
        ulong span = 1UL << Shift(level);
        int first = start <= tableBase ? 0 : (int)((start - tableBase) >> Shift(level));
        for (int i = first; i < Entries; i++)
        {
            ulong lo = tableBase + (ulong)i * span;
            if (lo >= end || (level == 3 && i >= Entries / 2)) break;
            ulong* e = Entry(mem, table, i);
            if (level == 0) { visitor.Visit(e, lo); continue; }
            ulong v = Pte.Read(e);
            if ((v & Pte.Present) == 0 || (v & Pte.Huge) != 0) continue;
            Visit(mem, Pte.Pfn(v), level - 1, lo, start, end, ref visitor);
        }
    }
}
