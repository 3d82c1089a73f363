using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

public sealed unsafe partial class AddressSpace
{
    /// <summary>
    /// <c>do_user_addr_fault</c> for an access the kernel made on the user's behalf (a uaccess copy):
    /// takes the mmap read lock, finds the area (growing a stack), refuses an access the area does
    /// not allow (x86's <c>access_error</c>: a write needs VM_WRITE, a read any access bit) and
    /// handles the fault. Returns 0, or -EFAULT (SIGSEGV/SIGBUS) or -ENOMEM.
    /// </summary>
    public int FaultInUser(ulong addr, bool write)
    {
        if (!Layout.IsUser(addr)) return -Errno.EFAULT;
        MmapLock.ReadLock();
        try
        {
            Vma? vma = _vmas.Find(addr);
            if (vma == null)
            {
                MmapLock.ReadUnlock();
                try { if (ExpandStack(addr) != 0) return -Errno.EFAULT; }
                finally { MmapLock.ReadLock(); }
                vma = _vmas.Find(addr);
                if (vma == null) return -Errno.EFAULT;
            }
            if (write ? (vma.Flags & VmFlags.Write) == 0 : (vma.Flags & VmFlags.AccessMask) == 0) return -Errno.EFAULT;
            return HandleMmFault(vma, addr, write);
        }
        finally { MmapLock.ReadUnlock(); }
    }

    /// <summary>
    /// <c>expand_stack</c>: when <paramref name="addr"/> lies below a VM_GROWSDOWN area (with no
    /// other area in between), extends that area down to the page of <paramref name="addr"/>, unless
    /// it would grow past <see cref="Layout.StackRlimit"/> (<c>acct_stack_growth</c>) or come within
    /// the stack guard gap of an accessible area below. Takes the mmap write lock. Returns 0 when
    /// <paramref name="addr"/> is now mapped, else -EFAULT.
    /// </summary>
    public int ExpandStack(ulong addr)
    {
        using var _ = MmapLock.Write();
        if (_vmas.Find(addr) != null) return 0;
        Vma? next = _vmas.FindFirstEndingAbove(addr);
        if (next == null || (next.Flags & VmFlags.GrowsDown) == 0) return -Errno.EFAULT;
        ulong newStart = addr & PageMask;
        if (newStart < Layout.MmapMinAddr || next.End - newStart > Layout.StackRlimit) return -Errno.EFAULT;
        Vma? prev = _vmas.FindLastEndingAtOrBelow(addr);
        if (prev != null && newStart - prev.End < Layout.StackGuardGap &&
            (prev.Flags & VmFlags.GrowsDown) == 0 && (prev.Flags & VmFlags.AccessMask) != 0) return -Errno.EFAULT;
        _vmas.Remove(next);
        next.PgOff -= (long)((next.Start - newStart) >> PageShift);
        next.Start = newStart;
        _vmas.Insert(next);
        return 0;
    }

    /// <summary>
    /// <c>handle_mm_fault</c>: makes the page of <paramref name="addr"/> present in <paramref name="vma"/>
    /// for a read or a write: zero-fill for anonymous memory, the file's page for a file mapping,
    /// copy-on-write for a write to a private page the mapping does not own. The caller holds the
    /// mmap lock (read or write) and has checked the access against the area's flags (or FOLL_FORCE).
    /// Returns 0, -EFAULT (beyond the end of a file: SIGBUS) or -ENOMEM.
    /// </summary>
    public int HandleMmFault(Vma vma, ulong addr, bool write)
    {
        ulong* ptep = PageTables.LookupOrAlloc(Memory, _pgd, addr);
        if (ptep == null) return -Errno.ENOMEM;
        while (true)
        {
            ulong old = Pte.Read(ptep);
            if (!Pte.MapsPage(old))
            {
                int r = FaultMissing(vma, addr, write, ptep, old);
                if (r <= 0) return r;
                continue; // lost a race with another fault: look again
            }
            if (!Pte.IsPresent(old)) return -Errno.EFAULT; // PROT_NONE
            if (!write)
            {
                if ((old & Pte.Accessed) == 0 && !Pte.TrySetBits(ptep, old, Pte.Accessed)) continue;
                return 0;
            }
            if ((old & Pte.Write) != 0)
            {
                if ((old & Pte.Dirty) == 0 && !Pte.TrySetBits(ptep, old, Pte.Dirty | Pte.Accessed)) continue;
                return 0;
            }
            int w = FaultWriteProtected(vma, addr, ptep, old);
            if (w <= 0) return w;
        }
    }

    // do_anonymous_page / do_read_fault / do_cow_fault / do_shared_fault. 1 = raced, retry.
    private int FaultMissing(Vma vma, ulong addr, bool write, ulong* ptep, ulong old)
    {
        Page page, source = Page.Null;
        bool anon;
        bool zeroStandIn = false;
        if (vma.IsAnonymous)
        {
            // With the shared zero page a read fault maps it, read-only and without an anon_vma; the
            // model maps a zeroed page of its own marked as standing for it (Pte.ZeroStandIn).
            zeroStandIn = !write && Kernel.Config.Limits.SharedZeroPage;
            if (!zeroStandIn) AnonVmaPrepare(vma);
            page = Memory.Alloc(PageOwner.Anon);
            if (page.IsNull) return -Errno.ENOMEM;
            Memory.SetFlags(page, PageFlags.Anon);
            anon = true;
        }
        else
        {
            page = vma.File!.Fault(vma.PageIndex(addr));
            if (page.IsNull) return -Errno.EFAULT;
            source = page;
            anon = false;
            if ((vma.Flags & VmFlags.PfnMap) != 0) return InsertPfn(vma, ptep, old, page);
            if (write && !vma.IsShared)
            {
                AnonVmaPrepare(vma);
                Page copy = CopyPage(page);
                Memory.Put(page);
                if (copy.IsNull) return -Errno.ENOMEM;
                page = copy;
                anon = true;
                Interlocked.Increment(ref _cowFaults);
            }
        }
        ulong bits = Pte.Present | Pte.User | Pte.Accessed | (write ? Pte.Dirty : 0) | (zeroStandIn ? Pte.ZeroStandIn : 0);
        if ((vma.Flags & VmFlags.Write) != 0 && (vma.IsShared || anon) && !zeroStandIn) bits |= Pte.Write;
        Memory.AddMap(page);
        ulong installed = Pte.Make(page.Pfn, bits);
        if (Pte.CompareExchange(ptep, installed, old))
        {
            if (source.IsNull || vma.File!.IsCurrent(vma.PageIndex(addr), source))
            {
                Interlocked.Increment(ref _faults);
                return 0;
            }
            // Truncation dropped the file's page after its size check let us have it: take the
            // entry back out (unless its unmap already did) and let the fault run again.
            if (!Pte.CompareExchange(ptep, 0, installed)) return 1;
            Memory.RemoveMap(page);
            var gather = new MmuGather(Memory, Kernel.Gate);
            gather.PutPage(page);
            gather.Finish();
            return 1;
        }
        Memory.RemoveMap(page);
        Memory.Put(page);
        return 1;
    }

    // vmf_insert_pfn: a VM_PFNMAP area maps the device's frame as a special entry, which owns no
    // reference and no map count (the device keeps the frame), so walkers must not take one. 1 = raced.
    private int InsertPfn(Vma vma, ulong* ptep, ulong old, Page frame)
    {
        ulong bits = Pte.Present | Pte.User | Pte.Accessed | Pte.Special | ((vma.Flags & VmFlags.Write) != 0 ? Pte.Write : 0);
        bool installed = Pte.CompareExchange(ptep, Pte.Make(frame.Pfn, bits), old);
        Memory.Put(frame);
        if (!installed) return 1;
        Interlocked.Increment(ref _faults);
        return 0;
    }

    // do_wp_page: a write to a present entry without the write bit. 1 = raced, retry.
    private int FaultWriteProtected(Vma vma, ulong addr, ulong* ptep, ulong old)
    {
        Page page = new(Pte.Pfn(old));
        bool writable = (vma.Flags & VmFlags.Write) != 0;
        if (vma.IsShared)
        {
            if (!writable) return -Errno.EFAULT;
            return Pte.CompareExchange(ptep, old | Pte.Write | Pte.Dirty | Pte.Accessed, old) ? 0 : 1;
        }
        // The entry was read without the page-table lock, and madvise(DONTNEED) zaps under the same
        // read lock: hold the page (taken inside the gate, the entry re-checked) before looking at it,
        // as the kernel's do_wp_page does under the PTE lock.
        if (!TryGetMapped(ptep, old, page)) return 1;
        try
        {
            if ((Memory.Flags(page) & PageFlags.Anon) != 0 && (old & Pte.ZeroStandIn) == 0)
            {
                // wp_page_reuse: the anonymous page belongs to this mapping alone (the model has no fork).
                ulong reuse = old | Pte.Dirty | Pte.Accessed | (writable ? Pte.Write : 0);
                return Pte.CompareExchange(ptep, reuse, old) ? 0 : 1;
            }
            AnonVmaPrepare(vma);
            return CopyOnWrite(ptep, old, page, writable);
        }
        finally { Memory.Put(page); }
    }

    // A reference on the page 'old' maps, if 'ptep' still holds 'old'; inside the gate, so the page
    // cannot be freed between the look and the reference.
    private bool TryGetMapped(ulong* ptep, ulong old, Page page)
    {
        int token = Kernel.Gate.Enter();
        try
        {
            if (Pte.Read(ptep) != old || !Memory.TryGetUnlessZero(page)) return false;
            if (Pte.Read(ptep) == old) return true;
            Memory.Put(page);
            return false;
        }
        finally { Kernel.Gate.Exit(token); }
    }

    // anon_vma_prepare: the area's first anonymous page gives it an anon_vma, the one of a neighbour
    // it could merge with if that has one (find_mergeable_anon_vma: the next area, then the previous).
    private void AnonVmaPrepare(Vma vma)
    {
        if (Volatile.Read(ref vma.AnonVma) != null) return;
        object fresh = FindMergeableAnonVma(vma) ?? new object();
        Interlocked.CompareExchange(ref vma.AnonVma, fresh, null);
    }

    private object? FindMergeableAnonVma(Vma vma)
    {
        Vma? next = _vmas.Next(vma);
        if (next != null && AnonVmaCompatible(vma, next) && next.AnonVma is { } n) return n;
        Vma? prev = _vmas.FindLastEndingAtOrBelow(vma.Start);
        if (prev != null && AnonVmaCompatible(prev, vma) && prev.AnonVma is { } p) return p;
        return null;
    }

    // anon_vma_compatible: adjacent, the same file, flags equal but for access bits, offsets in line.
    private static bool AnonVmaCompatible(Vma a, Vma b) =>
        a.End == b.Start && ReferenceEquals(a.File, b.File) &&
        ((a.Flags ^ b.Flags) & ~VmFlags.AccessMask) == 0 && b.PgOff == a.PageIndex(b.Start);

    // wp_page_copy: a private write to a file page copies it; the file's page is never written.
    // The caller holds a reference on 'page'.
    private int CopyOnWrite(ulong* ptep, ulong old, Page page, bool writable)
    {
        Page copy = CopyPage(page);
        if (copy.IsNull) return -Errno.ENOMEM;
        Memory.AddMap(copy);
        ulong fresh = Pte.Make(copy.Pfn, Pte.Present | Pte.User | Pte.Accessed | Pte.Dirty | (writable ? Pte.Write : 0));
        if (!Pte.CompareExchange(ptep, fresh, old))
        {
            Memory.RemoveMap(copy);
            Memory.Put(copy);
            return 1;
        }
        Interlocked.Increment(ref _faults);
        Interlocked.Increment(ref _cowFaults);
        Memory.RemoveMap(page);
        var gather = new MmuGather(Memory, Kernel.Gate);
        gather.PutPage(page);
        gather.Finish();
        return 0;
    }

    private Page CopyPage(Page source)
    {
        Page copy = Memory.Alloc(PageOwner.Anon, zero: false);
        if (copy.IsNull) return copy;
        Memory.SetFlags(copy, PageFlags.Anon);
        Memory.Span(source).CopyTo(Memory.Span(copy));
        return copy;
    }

    /// <summary>
    /// <c>unmap_mapping_range</c> for one mapping: if <paramref name="vma"/> is still mapped here,
    /// zaps its entries for file pages in [<paramref name="first"/>, <paramref name="end"/>) (page
    /// indices), so that the file's dropped pages are no longer reachable through it; private copies
    /// made by copy-on-write go too only when <paramref name="evenCows"/> (truncation, not a punched
    /// hole). Takes the mmap read lock.
    /// </summary>
    public void ZapFilePages(Vma vma, long first, long end, bool evenCows)
    {
        var gather = new MmuGather(Memory, Kernel.Gate);
        using (MmapLock.Read())
        {
            if (_vmas.Find(vma.Start) != vma) return;
            long lo = Math.Max(first, vma.PgOff), hi = Math.Min(end, vma.PageIndex(vma.End));
            if (lo >= hi) return;
            ulong start = vma.Start + ((ulong)(lo - vma.PgOff) << PageShift);
            ulong stop = vma.Start + ((ulong)(hi - vma.PgOff) << PageShift);
            if (evenCows) ZapRange(start, stop, gather);
            else
            {
                var zap = new ZapVisitor(Memory, gather, skipAnon: true);
                PageTables.ForEachEntry(Memory, _pgd, start, stop, ref zap);
            }
        }
        gather.Finish();
    }

    /// <summary>
    /// <c>zap_page_range</c>: clears every entry of [start, end) and queues the pages on
    /// <paramref name="gather"/>; a dirty entry marks a file page dirty. Caller holds the mmap lock.
    /// </summary>
    internal void ZapRange(ulong start, ulong end, MmuGather gather)
    {
        var zap = new ZapVisitor(Memory, gather, skipAnon: false);
        PageTables.ForEachEntry(Memory, _pgd, start, end, ref zap);
    }

    private readonly struct ZapVisitor(PhysicalMemory memory, MmuGather gather, bool skipAnon) : PageTables.IEntryVisitor
    {
        public void Visit(ulong* pte, ulong addr)
        {
            ulong old = Pte.Read(pte);
            if (!Pte.MapsPage(old)) return;
            if (skipAnon && (old & Pte.Special) == 0 && (memory.Flags(new Page(Pte.Pfn(old))) & PageFlags.Anon) != 0) return;
            old = Pte.Clear(pte);
            if (!Pte.MapsPage(old) || (old & Pte.Special) != 0) return;
            Page page = new(Pte.Pfn(old));
            if ((old & Pte.Dirty) != 0) memory.SetFlags(page, PageFlags.Dirty);
            memory.RemoveMap(page);
            gather.PutPage(page);
        }
    }
}
