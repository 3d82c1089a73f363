using Kiov.Concurrency;
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
        using (MmapLock.Read())
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
    /// copy-on-write for a write to a private page the mapping may not reuse. The caller holds the
    /// mmap lock (read or write; asserted in debug builds) and has checked the access against the
    /// area's flags (or FOLL_FORCE). Returns 0, -EFAULT (beyond the end of a file: SIGBUS) or -ENOMEM.
    /// </summary>
    public int HandleMmFault(Vma vma, ulong addr, bool write) => HandleMmFault(vma, addr, write, unshare: false);

    /// <summary>
    /// <c>handle_mm_fault</c> with <c>FAULT_FLAG_UNSHARE</c> when <paramref name="unshare"/> (and not
    /// <paramref name="write"/>): a read pin of a shared anonymous page first makes it exclusive, by
    /// reuse when the mapping is its sole owner, else by a copy mapped read-only (GUP's FOLL_UNSHARE).
    /// In an area with no access (PROT_NONE, reached by FOLL_FORCE) the entries it makes are PROT_NONE.
    /// </summary>
    public int HandleMmFault(Vma vma, ulong addr, bool write, bool unshare) => HandleMmFault(vma, addr, write, unshare, FaultFlags.None);

    /// <summary>
    /// <c>handle_mm_fault</c> with the fault flags GUP's <c>faultin_page</c> passes. With
    /// <see cref="FaultFlags.AllowRetry"/> a fault that must wait for a locked file page
    /// (<c>lock_folio_maybe_drop_mmap</c>) drops the mmap read lock first (<c>maybe_unlock_mmap_for_io</c>),
    /// unless this is already the retry (<see cref="FaultFlags.Tried"/>) or <see cref="FaultFlags.RetryNoWait"/>
    /// forbids waiting, and returns <see cref="VmFaultRetry"/>: the lock is then no longer held, except
    /// with RetryNoWait. Without AllowRetry the fault waits holding the lock.
    /// </summary>
    internal int HandleMmFault(Vma vma, ulong addr, bool write, bool unshare, FaultFlags flags)
    {
        MmapLock.AssertLocked();
        Sched.Point(SchedPoint.Fault, this);
        var cursor = new PageTableCursor(Memory, _pgd, CursorGuard.MmapLock, MmapLock);
        ulong* ptep = cursor.FindOrAlloc(addr);
        if (ptep == null) return -Errno.ENOMEM;
        bool accessible = (vma.Flags & VmFlags.AccessMask) != 0;
        while (true)
        {
            ulong old = Pte.Read(ptep);
            if (!Pte.MapsPage(old))
            {
                int r = FaultMissing(vma, addr, write, ptep, old, flags);
                if (r <= 0 || r == VmFaultRetry) return r;
                continue; // lost a race with another fault: look again
            }
            if (!Pte.IsPresent(old) && accessible) return -Errno.EFAULT; // PROT_NONE under an accessible area: a race with mprotect
            if (!write && !unshare)
            {
                if ((old & (Pte.Accessed | Pte.Present)) == Pte.Present && !Pte.TrySetBits(ptep, old, Pte.Accessed)) continue;
                return 0;
            }
            if ((old & Pte.Write) != 0)
            {
                if (write && (old & Pte.Dirty) == 0 && !Pte.TrySetBits(ptep, old, Pte.Dirty | Pte.Accessed)) continue;
                return 0;
            }
            int w = FaultWriteProtected(vma, addr, ptep, old, unshare && !write);
            if (w <= 0) return w;
        }
    }

    /// <summary><c>VM_FAULT_RETRY</c>: the fault gave up and dropped the mmap lock (kept it with
    /// <see cref="FaultFlags.RetryNoWait"/>); the caller re-takes it and faults again.</summary>
    internal const int VmFaultRetry = 0x400;

    /// <summary>True when <paramref name="entry"/> maps the shared zero page (<c>is_zero_pfn</c> of a special entry).</summary>
    public bool IsZeroEntry(ulong entry) => (entry & Pte.Special) != 0 && Pte.Pfn(entry) == Kernel.ZeroPage.Pfn;

    // The bits every user entry of 'vma' starts from: present, or PROT_NONE in an area with no access.
    private static ulong BaseBits(Vma vma) =>
        ((vma.Flags & VmFlags.AccessMask) != 0 ? Pte.Present : Pte.ProtNone) | Pte.User | Pte.Accessed;

    // maybe_mkwrite: the write bit only where the area allows writing (never on a PROT_NONE entry).
    private static ulong MaybeWrite(Vma vma) => (vma.Flags & VmFlags.Write) != 0 ? Pte.Write : 0;

    // do_anonymous_page / do_read_fault / do_cow_fault / do_shared_fault. 1 = raced, retry.
    private int FaultMissing(Vma vma, ulong addr, bool write, ulong* ptep, ulong old, FaultFlags flags)
    {
        if (vma.IsAnonymous && !write && Kernel.Config.SharedZeroPage)
        {
            // do_anonymous_page's read fault: the zero page, as a special entry (no reference, no map count).
            ulong zero = Pte.Make(Kernel.ZeroPage.Pfn, BaseBits(vma) | Pte.Special);
            if (!Pte.CompareExchange(ptep, zero, old)) return 1;
            Interlocked.Increment(ref _faults);
            return 0;
        }
        if (vma.IsAnonymous)
        {
            AnonVmaPrepare(vma);
            Page fresh = Memory.Alloc(PageOwner.Anon);
            if (fresh.IsNull) return -Errno.ENOMEM;
            Memory.SetFlags(fresh, PageFlags.Anon | PageFlags.AnonExclusive);
            return InstallPage(vma, addr, write, ptep, old, fresh, Page.Null, anon: true);
        }
        Page page = vma.File!.Fault(vma.PageIndex(addr));
        if (page.IsNull) return -Errno.EFAULT;
        if ((vma.Flags & VmFlags.PfnMap) != 0) return InsertPfn(vma, ptep, old, page);
        // filemap_fault: the page is locked while it is mapped, so truncation (which holds the lock
        // while it drops the page) and the fault take turns; our own reference outlives the unlock.
        if (!LockFileFolio(page, flags)) return VmFaultRetry;
        Memory.Get(page);
        try { return FinishFileFault(vma, addr, write, ptep, old, page); }
        finally
        {
            PageLock.Unlock(Memory, page);
            Memory.Put(page);
        }
    }

    /// <summary>
    /// <c>lock_folio_maybe_drop_mmap</c>: the file page's lock, taken at once if free. Otherwise, with
    /// FAULT_FLAG_RETRY_NOWAIT, give up holding the mmap lock; on a first try that may retry
    /// (<c>fault_flag_allow_retry_first</c>) drop the mmap read lock (<c>maybe_unlock_mmap_for_io</c>),
    /// wait for the page lock, release it and the page, and give up (the caller returns VM_FAULT_RETRY
    /// without the mmap lock, as filemap_fault's <c>out_retry</c>); else wait for it holding the mmap lock.
    /// False when the fault gives up; the page's reference is then released.
    /// </summary>
    private bool LockFileFolio(Page page, FaultFlags flags)
    {
        if (PageLock.TryLock(Memory, page)) return true;
        if ((flags & FaultFlags.RetryNoWait) != 0)
        {
            Memory.Put(page);
            return false;
        }
        if ((flags & (FaultFlags.AllowRetry | FaultFlags.Tried)) != FaultFlags.AllowRetry)
        {
            PageLock.Lock(Memory, page);
            return true;
        }
        MmapLock.ReadUnlock();
        PageLock.Lock(Memory, page);
        PageLock.Unlock(Memory, page);
        Memory.Put(page);
        return false;
    }

    // do_read_fault / do_cow_fault / do_shared_fault once the file page is locked: a private write
    // maps a copy; the caller keeps its own reference on 'file' and the page lock.
    private int FinishFileFault(Vma vma, ulong addr, bool write, ulong* ptep, ulong old, Page file)
    {
        if (!write || vma.IsShared) return InstallPage(vma, addr, write, ptep, old, file, file, anon: false);
        AnonVmaPrepare(vma);
        Page copy = CopyPage(file);
        Memory.Put(file);
        if (copy.IsNull) return -Errno.ENOMEM;
        Interlocked.Increment(ref _cowFaults);
        return InstallPage(vma, addr, write, ptep, old, copy, file, anon: true);
    }

    // finish_fault: maps 'page' (whose reference the entry takes over) at 'ptep' if it still holds
    // 'old'. 1 = raced, retry.
    private int InstallPage(Vma vma, ulong addr, bool write, ulong* ptep, ulong old, Page page, Page source, bool anon)
    {
        ulong bits = BaseBits(vma) | (write ? Pte.Dirty : 0);
        if (vma.IsShared || anon) bits |= MaybeWrite(vma);
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

    // do_wp_page: a write (or an unshare) at an entry without the write bit. 1 = raced, retry.
    private int FaultWriteProtected(Vma vma, ulong addr, ulong* ptep, ulong old, bool unshare)
    {
        Page page = new(Pte.Pfn(old));
        bool writable = (vma.Flags & VmFlags.Write) != 0;
        if (vma.IsShared)
        {
            if (unshare) return 0;
            if (!writable) return -Errno.EFAULT;
            return Pte.CompareExchange(ptep, old | Pte.Write | Pte.Dirty | Pte.Accessed, old) ? 0 : 1;
        }
        // The zero page (vm_normal_page gives NULL): wp_page_copy of a zeroed page; nothing to release.
        if (IsZeroEntry(old)) return CopyOnWrite(vma, ptep, old, page, unshare, releaseOld: false);
        // The entry was read without the page-table lock, and madvise(DONTNEED) zaps under the same
        // read lock: hold the page (taken inside the gate, the entry re-checked) before looking at it,
        // as the kernel's do_wp_page does under the PTE lock.
        bool hold = RaceFixes.On(RaceFix.WpPageHold);
        if (hold && !TryGetMapped(ptep, old, page)) return 1;
        try
        {
            PageFlags flags = Memory.Flags(page);
            if ((flags & PageFlags.Anon) != 0 && CanReuseAnon(page, flags))
            {
                if (unshare) return 0;
                // wp_page_reuse: the page is this mapping's alone: write it in place.
                ulong reuse = old | Pte.Dirty | Pte.Accessed | (Pte.IsPresent(old) ? MaybeWrite(vma) : 0);
                return Pte.CompareExchange(ptep, reuse, old) ? 0 : 1;
            }
            return CopyOnWrite(vma, ptep, old, page, unshare, releaseOld: true);
        }
        finally { if (hold) Memory.Put(page); }
    }

    // The reuse test of do_wp_page for an anonymous page, by era; the caller holds one reference of
    // its own on top of the mapping's. On success under today's rule the page becomes exclusive
    // (wp_can_reuse_anon_folio's folio_move_anon_rmap, then SetPageAnonExclusive).
    private bool CanReuseAnon(Page page, PageFlags flags)
    {
        switch (Kernel.Config.AnonReuse)
        {
            case AnonReuseRule.MapCount:
                return Memory.MapCount(page) == 1;
            case AnonReuseRule.RefCount:
                return Memory.RefCount(page) == 2 && Memory.MapCount(page) == 1;
            default:
                if ((flags & PageFlags.AnonExclusive) != 0) return true;
                if (Memory.RefCount(page) != 2) return false;
                Memory.SetFlags(page, PageFlags.AnonExclusive);
                return true;
        }
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

    // wp_page_copy: a private write to a page the mapping may not reuse copies it (a file's page
    // is never written). The copy is exclusive; for an unshare it is mapped clean and read-only.
    // The caller holds a reference on 'page'.
    private int CopyOnWrite(Vma vma, ulong* ptep, ulong old, Page page, bool unshare, bool releaseOld)
    {
        AnonVmaPrepare(vma); // wp_page_copy begins with vmf_anon_prepare, the zero page's copy included
        Page copy = CopyPage(page);
        if (copy.IsNull) return -Errno.ENOMEM;
        Memory.AddMap(copy);
        ulong bits = BaseBits(vma) | (unshare ? 0 : Pte.Dirty | MaybeWrite(vma));
        ulong fresh = Pte.Make(copy.Pfn, bits);
        if (!Pte.CompareExchange(ptep, fresh, old))
        {
            Memory.RemoveMap(copy);
            Memory.Put(copy);
            return 1;
        }
        Interlocked.Increment(ref _faults);
        Interlocked.Increment(ref _cowFaults);
        if (!releaseOld) return 0;
        Memory.RemoveMap(page);
        var gather = new MmuGather(Memory, Kernel.Gate);
        gather.PutPage(page);
        gather.Finish();
        return 0;
    }

    // A new anonymous page holding a copy of 'source': exclusive to the mapping that will map it.
    private Page CopyPage(Page source)
    {
        Page copy = Memory.Alloc(PageOwner.Anon, zero: false);
        if (copy.IsNull) return copy;
        Memory.SetFlags(copy, PageFlags.Anon | PageFlags.AnonExclusive);
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
    /// <paramref name="gather"/>; a dirty entry marks a file page dirty. Caller holds the mmap lock
    /// (asserted in debug builds).
    /// </summary>
    internal void ZapRange(ulong start, ulong end, MmuGather gather)
    {
        MmapLock.AssertLocked();
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
