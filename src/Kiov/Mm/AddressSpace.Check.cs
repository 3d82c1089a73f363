using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>What <see cref="AddressSpace.CheckInvariants"/> found in a consistent address space.</summary>
/// <param name="Vmas">Areas (<c>mm->map_count</c>).</param>
/// <param name="Tables">User page-table frames below the PGD (PUDs, PMDs and PTE tables).</param>
/// <param name="MappedPages">Entries that map a page, present or PROT_NONE.</param>
public readonly record struct MmCensus(int Vmas, int Tables, int MappedPages);

public sealed unsafe partial class AddressSpace
{
    /// <summary>
    /// Checks the address space's invariants (the model's <c>validate_mm</c> plus a page-table
    /// audit in the spirit of CONFIG_DEBUG_VM and <c>ptdump</c>): the VMA tree's
    /// (<see cref="VmaTree.CheckInvariants"/>), and for every entry of the user half of the page
    /// tables: an upper-level entry points at a live page-table frame with the user-table bits and
    /// no huge leaf; a PTE is zero or maps a page (no stray bits); a mapped page lies inside an
    /// area, is a live frame with a map count, and its entry grants no more than the area allows
    /// (present only if the area is accessible, PROT_NONE only if it is not, writable only if
    /// VM_WRITE). Throws <see cref="KiovBugException"/> on the first violation. Takes the mmap
    /// lock for reading; for tests.
    /// </summary>
    public MmCensus CheckInvariants()
    {
        using var _ = MmapLock.Read();
        _vmas.CheckInvariants();
        int tables = 0, pages = 0;
        CheckTable(_pgd, 3, 0, ref tables, ref pages);
        return new MmCensus(_vmas.Count, tables, pages);
    }

    private void CheckTable(int table, int level, ulong tableBase, ref int tables, ref int pages)
    {
        ulong span = 1UL << PageTables.Shift(level);
        int limit = level == 3 ? PageTables.Entries / 2 : PageTables.Entries;
        for (int i = 0; i < limit; i++)
        {
            ulong addr = tableBase + (ulong)i * span;
            ulong e = Pte.Read(PageTables.Entry(Memory, table, i));
            if (e == 0) continue;
            if (level > 0)
            {
                if ((e & Pte.Huge) != 0) throw new KiovBugException($"huge leaf in the user half at 0x{addr:x}");
                if ((e & Pte.UserTable) != Pte.UserTable) throw new KiovBugException($"upper entry 0x{e:x} for 0x{addr:x} lacks the user-table bits");
                Page child = new(Pte.Pfn(e));
                if (!Memory.IsValid(child) || (Memory.Flags(child) & (PageFlags.Free | PageFlags.PageTable)) != PageFlags.PageTable)
                    throw new KiovBugException($"upper entry for 0x{addr:x} points at {child}, not a live page table");
                tables++;
                CheckTable(child.Pfn, level - 1, addr, ref tables, ref pages);
                continue;
            }
            if (!Pte.MapsPage(e)) throw new KiovBugException($"stray bits 0x{e:x} in the PTE of 0x{addr:x}");
            Vma? vma = _vmas.Find(addr) ?? throw new KiovBugException($"PTE 0x{e:x} maps 0x{addr:x}, which is in no VMA");
            bool accessible = (vma.Flags & VmFlags.AccessMask) != 0;
            if (Pte.IsPresent(e) != accessible)
                throw new KiovBugException($"PTE 0x{e:x} of 0x{addr:x} is {(Pte.IsPresent(e) ? "present" : "PROT_NONE")} in {vma}");
            if ((e & Pte.Write) != 0 && (vma.Flags & VmFlags.Write) == 0)
                throw new KiovBugException($"PTE 0x{e:x} of 0x{addr:x} is writable in {vma}");
            if ((e & Pte.Special) != 0) { pages++; continue; }
            Page page = new(Pte.Pfn(e));
            if (!Memory.IsValid(page) || (Memory.Flags(page) & PageFlags.Free) != 0)
                throw new KiovBugException($"PTE of 0x{addr:x} maps {page}, which is free");
            if (Memory.MapCount(page) < 1 || Memory.RefCount(page) < 1)
                throw new KiovBugException($"PTE of 0x{addr:x} maps {page} with mapcount {Memory.MapCount(page)}, refcount {Memory.RefCount(page)}");
            pages++;
        }
    }
}
