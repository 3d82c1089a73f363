using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Gup;

public static unsafe partial class UserPages
{
    // A page that keeps faulting back to "absent" this many times means the fault handler and the
    // follow logic disagree: a bug in the model, never a state a user can reach.
    private const int MaxFaultsPerPage = 1000;

    private enum Follow { Got, Absent, Changed, NoStructPage, Unshare }

    // get_user_pages_unlocked / __gup_longterm_locked with locked == 0: the lock is taken here
    // (and the callers set FOLL_UNLOCKABLE, so a fault may drop it).
    private static long SlowUnlocked(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages)
    {
        bool locked = false;
        return SlowLocked(mm, start, nrPages, flags, pages, ref locked);
    }

    // get_user_pages / pin_user_pages / the *_remote calls without a `locked` pointer: the caller holds
    // the lock, FOLL_UNLOCKABLE is clear, and no fault may drop it.
    private static long Slow(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages)
    {
        bool locked = true;
        return SlowLocked(mm, start, nrPages, flags, pages, ref locked);
    }

    /// <summary>
    /// <c>__get_user_pages_locked</c>: takes the mmap read lock when <paramref name="locked"/> is false,
    /// then runs <c>__get_user_pages</c>. With FOLL_UNLOCKABLE a fault may drop the lock to wait
    /// (VM_FAULT_RETRY, seen here as <paramref name="locked"/> turned false): the pages so far are kept,
    /// the lock re-taken, and the page that waited faulted again with FOLL_TRIED, one page at a time,
    /// then the rest. If the lock was ever dropped, or taken here, it is released on return and
    /// <paramref name="locked"/> is false: the caller must not unlock it.
    /// </summary>
    private static long SlowLocked(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages, ref bool locked)
    {
        bool mustUnlock = false;
        if (!locked)
        {
            mm.MmapLock.ReadLock();
            mustUnlock = locked = true;
        }
        long pagesDone = 0;
        while (true)
        {
            long ret = GetPages(mm, start, nrPages, flags, pages, ref locked);
            if ((flags & Foll.Unlockable) == 0) { pagesDone = ret; break; }
            if (!locked && (ret < 0 || ret >= nrPages)) ThrowHelper.Bug("GUP: the lock was dropped but the walk reports " + ret);
            if (ret > 0)
            {
                nrPages -= (int)ret;
                pagesDone += ret;
                if (nrPages == 0) break;
            }
            if (locked)
            {
                if (pagesDone == 0) pagesDone = ret; // no retry (or FOLL_NOWAIT): an error or a stop
                break;
            }
            if (!pages.IsEmpty) pages = pages[(int)ret..];
            start += (ulong)ret << PageShift;
            mustUnlock = true; // dropped on the way: ours to release now
            do
            {
                mm.MmapLock.ReadLock();
                locked = true;
                ret = GetPages(mm, start, 1, flags | Foll.Tried, pages, ref locked);
            } while (!locked);
            if (ret != 1)
            {
                if (pagesDone == 0) pagesDone = ret;
                break;
            }
            nrPages--;
            pagesDone++;
            if (nrPages == 0) break;
            if (!pages.IsEmpty) pages = pages[1..];
            start += PageSize;
        }
        if (mustUnlock && locked)
        {
            mm.MmapLock.ReadUnlock();
            locked = false;
        }
        return pagesDone;
    }

    /// <summary>
    /// <c>__get_user_pages</c>: page by page, find the area (checking
    /// it allows the access), follow the entry, fault it in when absent or not writable enough, and take
    /// the reference. The mmap read lock is held (dropped to grow a stack, as 2017's
    /// <c>find_extend_vma</c> could, or by a fault that waits). FOLL_LONGTERM needs no migration here: the model has no movable zone.
    /// The caller holds the mmap lock (asserted in debug builds, as <c>__get_user_pages</c> does). A fault
    /// that dropped it (VM_FAULT_RETRY) ends the walk: <paramref name="locked"/> turns false and the pages
    /// so far are returned (0 if none).
    /// </summary>
    private static long GetPages(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages, ref bool locked)
    {
        mm.MmapLock.AssertLocked();
        ArgumentOutOfRangeException.ThrowIfNegative(nrPages);
        if (nrPages == 0) return 0;
        bool wantPages = !pages.IsEmpty;
        if (wantPages && (flags & Foll.Pin) == 0) flags |= Foll.Get;
        bool pin = (flags & Foll.Pin) != 0;
        if (pin && !mm.HasPinned) mm.HasPinned = true;
        start &= PageMask;
        int done = 0;
        long err = 0, faults = 0;
        Vma? vma = null;
        var tables = new PageTableCursor(mm.Memory, mm.Pgd, CursorGuard.MmapLock, mm.MmapLock);
        var gate = new GateHold(mm.Kernel.Gate);
        try
        {
            while (done < nrPages)
            {
                if (vma == null || start >= vma.End)
                {
                    gate.Leave();
                    tables.Reset(); // LookupVma may drop the lock (stack growth)
                    vma = LookupVma(mm, start);
                    err = vma == null ? -Errno.EFAULT : CheckVmaFlags(vma, flags);
                    if (err != 0) break;
                }
                Page page = Page.Null;
                int tries = 0;
                Follow r;
                Foll pageFlags = flags;  // FOLL_COW (4.9 to 6.1) or a dropped FOLL_WRITE (before 4.9) last for this page
                while ((r = FollowPage(mm, vma!, start, pageFlags, out page, ref tables, ref gate)) != Follow.Got)
                {
                    gate.Leave();
                    if (r == Follow.Changed) continue;
                    if (r == Follow.NoStructPage) break;
                    if (++tries > MaxFaultsPerPage) ThrowHelper.Unmapped("GUP: the fault never made the page followable at", start);
                    tables.Reset(); // the fault may drop the lock
                    err = FaultInPage(mm, vma!, start, pageFlags, r == Follow.Unshare, ref faults, ref locked);
                    if (err != 0) break;
                    pageFlags = AfterForcedWriteFault(mm, vma!, pageFlags);
                    AfterFaultHook?.Invoke(mm, start);
                }
                if (err == -Errno.EBUSY) { err = 0; break; } // the fault gave up: dropped the lock, unless FOLL_NOWAIT
                if (err != 0) break;
                if (r == Follow.NoStructPage && wantPages) { err = -Errno.EFAULT; break; }
                if (wantPages) pages[done] = page;
                done++;
                start += PageSize;
            }
        }
        finally { gate.Leave(); }
        mm.Kernel.Counters.AddSlow(wantPages ? done : 0, pin, faults);
        return done > 0 ? done : err;
    }

    // gup_vma_lookup (≥6.5: no stack growth) or find_extend_vma (before: a grows-down stack is extended
    // to cover the address; expand_stack takes the write lock, so the read lock is dropped around it).
    private static Vma? LookupVma(AddressSpace mm, ulong addr)
    {
        Vma? vma = mm.FindVma(addr);
        if (vma != null || !mm.Kernel.Config.GupGrowsStack) return vma;
        Vma? above = mm.Vmas.FindFirstEndingAbove(addr);
        if (above == null || (above.Flags & VmFlags.GrowsDown) == 0) return null;
        mm.MmapLock.ReadUnlock();
        int grown;
        try { grown = mm.ExpandStack(addr); }
        finally { mm.MmapLock.ReadLock(); }
        return grown == 0 ? mm.FindVma(addr) : null;
    }

    /// <summary>
    /// <c>check_vma_flags</c>: VM_IO and VM_PFNMAP areas have no pages to hand out; FOLL_ANON wants
    /// anonymous memory; a write needs VM_WRITE, or FOLL_FORCE on a private (copy-on-write) mapping;
    /// a read needs VM_READ, or FOLL_FORCE with VM_MAYREAD. Returns 0 or -EFAULT.
    /// </summary>
    private static int CheckVmaFlags(Vma vma, Foll flags)
    {
        VmFlags vf = vma.Flags;
        if ((vf & (VmFlags.Io | VmFlags.PfnMap)) != 0) return -Errno.EFAULT;
        if ((flags & Foll.Anon) != 0 && !vma.IsAnonymous) return -Errno.EFAULT;
        bool force = (flags & Foll.Force) != 0;
        if ((flags & Foll.Write) != 0)
        {
            if ((vf & VmFlags.Write) == 0 && (!force || !vma.IsCowMapping)) return -Errno.EFAULT;
        }
        else if ((vf & VmFlags.Read) == 0 && (!force || (vf & VmFlags.MayRead) == 0)) return -Errno.EFAULT;
        return 0;
    }

    /// <summary>
    /// <c>follow_page_pte</c>: the page mapped at <paramref name="addr"/>, referenced as the flags ask.
    /// The read lock keeps the tables, but madvise(DONTNEED) may zap the entry under it, so the
    /// reference is speculative and the entry re-checked, inside the gate (which
    /// <paramref name="gate"/> holds for a run of pages), exactly as the fast walk does.
    /// </summary>
    private static Follow FollowPage(AddressSpace mm, Vma vma, ulong addr, Foll flags, out Page page, ref PageTableCursor tables, ref GateHold gate)
    {
        page = Page.Null;
        PhysicalMemory mem = mm.Memory;
        gate.Hold();
        ulong* ptep = tables.Find(addr, out bool huge);
        if (ptep == null || huge) return Follow.Absent;
        ulong pte = Pte.Read(ptep);
        // A PROT_NONE entry is followed only in an inaccessible area (ptrace's FOLL_FORCE read).
        if (!Pte.MapsPage(pte) || (!Pte.IsPresent(pte) && (vma.Flags & VmFlags.AccessMask) != 0)) return Follow.Absent;
        bool zero = mm.IsZeroEntry(pte);  // vm_normal_page is NULL, but the zero page is handed out
        if ((pte & Pte.Special) != 0 && !zero) return Follow.NoStructPage;
        page = new Page(Pte.Pfn(pte));
        bool write = (flags & Foll.Write) != 0;
        if (write && !CanFollowWrite(mm.Kernel.Config, mem, pte, page, vma, flags)) return Follow.Absent;
        if (!write && (pte & Pte.Write) == 0 && MustUnshare(mm.Kernel.Config, mem, vma, flags, page)) return Follow.Unshare;
        bool grab = (flags & (Foll.Get | Foll.Pin)) != 0 && !(zero && (flags & Foll.Pin) != 0); // try_grab_folio: no pin on the zero page
        if (grab)
        {
            if (!TryGrab(mem, page, flags)) return Follow.Changed;
            if (Pte.Read(ptep) != pte) { Ungrab(mem, page, flags); return Follow.Changed; }
        }
        if ((flags & Foll.Touch) != 0)
        {
            if (write && (pte & Pte.Dirty) == 0) mem.SetFlags(page, PageFlags.Dirty);
            if ((pte & Pte.Accessed) == 0) Pte.TrySetBits(ptep, pte, Pte.Accessed);
        }
        return Follow.Got;
    }

    // The walker gate as __get_user_pages holds it across follow_page calls: entered at the first
    // page, left after a run of pages and before anything that may block (a fault, a stack's growth),
    // so that the pages of a run cost one entry, not one each (an entry looks the thread's slot up).
    private struct GateHold(WalkerGate gate)
    {
        private const int PagesPerEntry = 16;
        private int _token = -1, _pages;

        public void Hold()
        {
            if (_token >= 0 && ++_pages < PagesPerEntry) return;
            Leave();
            _token = gate.Enter();
        }

        public void Leave()
        {
            if (_token < 0) return;
            gate.Exit(_token);
            _token = -1;
            _pages = 0;
        }
    }


    // can_follow_write_pte: a read-only entry satisfies a FOLL_FORCE write only once the fault broke
    // copy-on-write in a private area that may not be written. Before 4.9 never (the fault dropped
    // FOLL_WRITE instead); 4.9 to 6.1 when FOLL_COW is set and the entry is dirty; since 6.2 when the
    // entry maps an exclusive anonymous page of an area that may be written but is not.
    private static bool CanFollowWrite(KernelConfig config, PhysicalMemory mem, ulong pte, Page page, Vma vma, Foll flags)
    {
        if ((pte & Pte.Write) != 0) return true;
        if ((flags & Foll.Force) == 0) return false;
        switch (config.ForcedWrite)
        {
            case ForcedWriteRule.DropWrite:
                return false;
            case ForcedWriteRule.FollCow:
                return (flags & Cow) != 0 && (pte & Pte.Dirty) != 0;
        }
        if ((vma.Flags & (VmFlags.MayShare | VmFlags.Shared | VmFlags.Write)) != 0) return false;
        if ((vma.Flags & VmFlags.MayWrite) == 0) return false;
        const PageFlags exclusive = PageFlags.Anon | PageFlags.AnonExclusive;
        return (mem.Flags(page) & exclusive) == exclusive;
    }

    /// <summary><c>FOLL_COW</c> (4.9 to 6.1, internal): the fault broke copy-on-write for a forced write.
    /// The model keeps it in a bit the ≥6.2 enum left free, and only inside the slow path.</summary>
    private const Foll Cow = (Foll)(1u << 30);

    /// <summary>
    /// Test hook run by the slow path right after a fault it took for a page, before it follows the
    /// page again, with the mmap read lock held: where Dirty COW's madvise(DONTNEED) wins its race.
    /// It may zap under the read lock (as madvise does from another thread), never take the write lock.
    /// </summary>
    internal static Action<AddressSpace, ulong>? AfterFaultHook;

    // faultin_page's aftermath for a forced write into an area that may not be written: before 4.9
    // FOLL_WRITE is dropped (the next look takes whatever is mapped); 4.9 to 6.1 FOLL_COW is set.
    private static Foll AfterForcedWriteFault(AddressSpace mm, Vma vma, Foll flags)
    {
        if ((flags & Foll.Write) == 0 || (vma.Flags & VmFlags.Write) != 0) return flags;
        return mm.Kernel.Config.ForcedWrite switch
        {
            ForcedWriteRule.DropWrite => flags & ~Foll.Write,
            ForcedWriteRule.FollCow => flags | Cow,
            _ => flags,
        };
    }

    /// <summary>
    /// <c>gup_must_unshare</c> (5.19+): a read-only pin (FOLL_PIN without FOLL_WRITE) of an anonymous
    /// page that is not exclusive must first unshare it, or the pin could see a page the process will
    /// leave on its next write (a long-term read pin of a private file page too). Never before 5.19.
    /// <paramref name="vma"/> null (GUP-fast) counts as a copy-on-write area.
    /// </summary>
    internal static bool MustUnshare(KernelConfig config, PhysicalMemory mem, Vma? vma, Foll flags, Page page)
    {
        if ((flags & (Foll.Write | Foll.Pin)) != Foll.Pin || config.AnonReuse != AnonReuseRule.Exclusive) return false;
        PageFlags f = mem.Flags(page);
        if ((f & PageFlags.Anon) == 0)
            return (flags & Foll.LongTerm) != 0 && (vma == null || vma.IsCowMapping);
        return (f & PageFlags.AnonExclusive) == 0;
    }

    /// <summary>
    /// <c>faultin_page</c>: FOLL_NOFAULT refuses; otherwise <c>handle_mm_fault</c> for a read, a write or an
    /// unshare. FOLL_UNLOCKABLE lets the fault drop the mmap lock to wait (FAULT_FLAG_ALLOW_RETRY and
    /// KILLABLE); FOLL_NOWAIT lets it give up without waiting (ALLOW_RETRY | RETRY_NOWAIT); FOLL_TRIED
    /// marks the second try. VM_FAULT_RETRY becomes -EBUSY, with <paramref name="locked"/> false when
    /// the lock was dropped.
    /// </summary>
    private static int FaultInPage(AddressSpace mm, Vma vma, ulong addr, Foll flags, bool unshare, ref long faults, ref bool locked)
    {
        if ((flags & Foll.NoFault) != 0) return -Errno.EFAULT;
        FaultFlags ff = FaultFlags.None;
        if ((flags & Foll.Unlockable) != 0) ff |= FaultFlags.AllowRetry | FaultFlags.Killable;
        if ((flags & Foll.NoWait) != 0) ff |= FaultFlags.AllowRetry | FaultFlags.RetryNoWait;
        if ((flags & Foll.Tried) != 0) ff |= FaultFlags.Tried;
        faults++;
        int r = mm.HandleMmFault(vma, addr, (flags & Foll.Write) != 0, unshare, ff);
        if (r != AddressSpace.VmFaultRetry) return r;
        if ((ff & FaultFlags.RetryNoWait) == 0) locked = false;
        return -Errno.EBUSY;
    }
}
