using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

public sealed unsafe partial class AddressSpace
{
    // mm->write_protect_seq: odd while fork write-protects this address space's anonymous pages.
    // Written under the mmap write lock; read locklessly by GUP-fast with FOLL_PIN.
    private int _writeProtectSeq;

    /// <summary><c>raw_read_seqcount(&amp;mm-&gt;write_protect_seq)</c>: odd while a fork is write-protecting.</summary>
    public int WriteProtectSeq => Volatile.Read(ref _writeProtectSeq);

    /// <summary>
    /// <c>dup_mm</c> → <c>dup_mmap</c>: a new address space for a child of fork. Under this address
    /// space's mmap write lock, each area is copied (VM_LOCKED dropped; a VM_DONTCOPY area left out;
    /// a VM_WIPEONFORK one copied empty) and, where <c>vma_needs_copy</c> says so (a PFN map, or an
    /// area with an anon_vma: one that has had anonymous pages), its page tables with it
    /// (<c>copy_page_range</c>); other areas keep no entries and fault their pages in again (a
    /// private area that only ever mapped the zero page or file pages included). Private
    /// pages become copy-on-write in both, except an exclusive anonymous page that may be DMA-pinned,
    /// which the child gets a copy of (<c>copy_present_page</c>). Returns null when memory runs out.
    /// </summary>
    public AddressSpace? Fork()
    {
        var child = new AddressSpace(Kernel);
        bool ok = true;
        using (MmapLock.Write())
        using (child.MmapLock.Write())
        {
            Interlocked.Increment(ref _writeProtectSeq);
            try
            {
                foreach (Vma vma in _vmas.ToList())
                {
                    if ((vma.Flags & VmFlags.DontCopy) != 0) continue;
                    bool wipe = (vma.Flags & VmFlags.WipeOnFork) != 0;
                    // anon_vma_fork: the child's area gets an anon_vma of its own (none when wiped).
                    var copy = new Vma(vma.Start, vma.End, vma.Flags & ~VmFlags.Locked, vma.File, vma.PgOff)
                    {
                        AnonVma = vma.AnonVma != null && !wipe ? new object() : null,
                        ForkChild = vma.AnonVma != null && !wipe,
                    };
                    child._vmas.Insert(copy);
                    vma.File?.OnMap(child, copy);
                    if (wipe || !VmaNeedsCopy(vma)) continue;
                    if (!CopyPageRange(child, vma)) { ok = false; break; }
                }
            }
            finally { Interlocked.Increment(ref _writeProtectSeq); }
        }
        // Like the TLB flush after copy_page_range: no writes through the old, writable entries after return.
        Kernel.Gate.Synchronize();
        if (ok) return child;
        child.Dispose();
        return null;
    }

    // vma_needs_copy: page tables are copied only where a fault could not fill them in again the same
    // way: PFN maps, and areas that have had anonymous pages (an anon_vma). Shared areas, and private
    // ones that only mapped file pages or the zero page, start empty in the child.
    private static bool VmaNeedsCopy(Vma vma) =>
        (vma.Flags & VmFlags.PfnMap) != 0 || Volatile.Read(ref vma.AnonVma) != null;

    // copy_page_range for one area: every entry that maps a page is copied (copy_present_pte).
    private bool CopyPageRange(AddressSpace child, Vma vma)
    {
        var copier = new ForkCopier(this, child, vma);
        PageTables.ForEachEntry(Memory, _pgd, vma.Start, vma.End, ref copier);
        return !copier.OutOfMemory;
    }

    private struct ForkCopier(AddressSpace parent, AddressSpace child, Vma vma) : PageTables.IEntryVisitor
    {
        public bool OutOfMemory;

        public void Visit(ulong* pte, ulong addr)
        {
            if (OutOfMemory) return;
            ulong old = Pte.Read(pte);
            if (!Pte.MapsPage(old)) return;
            ulong* dst = PageTables.LookupOrAlloc(parent.Memory, child._pgd, addr);
            if (dst == null) { OutOfMemory = true; return; }
            if ((old & Pte.Special) != 0) { *dst = old & ~Pte.Accessed; return; } // a PFN map: no page to share
            OutOfMemory = !parent.CopyPresentPte(child, vma, pte, old, dst, addr);
        }
    }

    // copy_present_pte: share the page with the child (a reference and a map count more), write-
    // protecting both entries in a copy-on-write mapping; or, for an exclusive anonymous page that may
    // be pinned, give the child its own copy (copy_present_page). The caller holds both write locks,
    // so no fault changes the entry; only the accessed and dirty bits may move under us.
    private bool CopyPresentPte(AddressSpace child, Vma vma, ulong* src, ulong old, ulong* dst, ulong addr)
    {
        Page page = new(Pte.Pfn(old));
        PageFlags flags = Memory.Flags(page);
        bool anon = (flags & PageFlags.Anon) != 0;
        if (anon && NeedsCopyForDma(page, flags))
        {
            Page copy = CopyPage(page);
            if (copy.IsNull) return false;
            Memory.AddMap(copy);
            ulong bits = old & ~(Pte.PfnMask | Pte.Accessed | Pte.Write);
            if (Pte.IsPresent(old) && (vma.Flags & VmFlags.Write) != 0) bits |= Pte.Write;
            *dst = Pte.Make(copy.Pfn, bits | Pte.Dirty);
            Interlocked.Increment(ref child._cowFaults);
            return true;
        }
        ForkSharingHook?.Invoke(this, addr);
        Memory.Get(page);
        Memory.AddMap(page);
        if (anon && (flags & PageFlags.AnonExclusive) != 0) Memory.ClearFlags(page, PageFlags.AnonExclusive);
        ulong entry = old;
        if (vma.IsCowMapping && (old & Pte.Write) != 0)
        {
            while (!Pte.CompareExchange(src, old & ~Pte.Write, old)) old = Pte.Read(src);
            entry = old & ~Pte.Write;
        }
        if (vma.IsShared) entry &= ~Pte.Dirty;
        *dst = entry & ~Pte.Accessed;
        return true;
    }

    /// <summary>Test hook run by fork with both mmap write locks held, when it has decided to share the
    /// page at the address given (it looked not pinned) and has not yet write-protected it: the window
    /// that write_protect_seq closes for GUP-fast. It must not take an mmap lock. Null in production.</summary>
    internal static Action<AddressSpace, ulong>? ForkSharingHook;

    // folio_needs_cow_for_dma: the address space ever pinned (MMF_HAS_PINNED) and the page's count
    // says it may be pinned. Only an exclusive page can be pinned on a kernel with PageAnonExclusive;
    // 5.9 to 5.18 looked at the count alone.
    private bool NeedsCopyForDma(Page page, PageFlags flags)
    {
        KernelConfig config = Kernel.Config;
        if (!config.ForkCopiesPinned || !HasPinned || !Memory.MaybeDmaPinned(page)) return false;
        return config.AnonReuse != AnonReuseRule.Exclusive || (flags & PageFlags.AnonExclusive) != 0;
    }

    /// <summary>True when <paramref name="addr"/>'s entry maps an exclusive anonymous page (for tests and tools).</summary>
    public bool IsAnonExclusive(ulong addr)
    {
        ulong pte = ReadPte(addr & PageMask);
        if (!Pte.MapsPage(pte) || (pte & Pte.Special) != 0) return false;
        PageFlags f = Memory.Flags(new Page(Pte.Pfn(pte)));
        return (f & (PageFlags.Anon | PageFlags.AnonExclusive)) == (PageFlags.Anon | PageFlags.AnonExclusive);
    }
}
