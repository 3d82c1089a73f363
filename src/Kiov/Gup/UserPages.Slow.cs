using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Gup;

public static unsafe partial class UserPages
{
    // A page that keeps faulting back to "absent" this many times means the fault handler and the
    // follow logic disagree: a bug in the model, never a state a user can reach.
    private const int MaxFaultsPerPage = 1000;

    private enum Follow { Got, Absent, Changed, NoStructPage }

    // get_user_pages_unlocked / __gup_longterm_locked with locked == 0: the lock is taken here.
    private static long SlowUnlocked(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages)
    {
        mm.MmapLock.ReadLock();
        try { return Slow(mm, start, nrPages, flags, pages); }
        finally { mm.MmapLock.ReadUnlock(); }
    }

    /// <summary>
    /// <c>__get_user_pages_locked</c> → <c>__get_user_pages</c>: page by page, find the area (checking
    /// it allows the access), follow the entry, fault it in when absent or not writable enough, and take
    /// the reference. The mmap read lock is held (dropped only to grow a stack, as 2017's
    /// <c>find_extend_vma</c> could). FOLL_LONGTERM needs no migration here: the model has no movable zone.
    /// </summary>
    private static long Slow(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages)
    {
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
        while (done < nrPages)
        {
            if (vma == null || start >= vma.End)
            {
                vma = LookupVma(mm, start);
                err = vma == null ? -Errno.EFAULT : CheckVmaFlags(vma, flags);
                if (err != 0) break;
            }
            Page page = Page.Null;
            int tries = 0;
            Follow r;
            while ((r = FollowPage(mm, vma!, start, flags, out page)) != Follow.Got)
            {
                if (r == Follow.Changed) continue;
                if (r == Follow.NoStructPage) break;
                if (++tries > MaxFaultsPerPage) throw new KiovBugException($"GUP at 0x{start:x}: the fault never made the page followable");
                err = FaultInPage(mm, vma!, start, flags, ref faults);
                if (err != 0) break;
            }
            if (err != 0) break;
            if (r == Follow.NoStructPage && wantPages) { err = -Errno.EFAULT; break; }
            if (wantPages) pages[done] = page;
            done++;
            start += PageSize;
        }
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
    /// reference is speculative and the entry re-checked, inside the gate, exactly as the fast walk does.
    /// </summary>
    private static Follow FollowPage(AddressSpace mm, Vma vma, ulong addr, Foll flags, out Page page)
    {
        page = Page.Null;
        PhysicalMemory mem = mm.Memory;
        WalkerGate gate = mm.Kernel.Gate;
        int token = gate.Enter();
        try
        {
            ulong* ptep = PageTables.Lookup(mem, mm.Pgd, addr, out bool huge);
            if (ptep == null || huge) return Follow.Absent;
            ulong pte = Pte.Read(ptep);
            // A PROT_NONE entry is followed only in an inaccessible area (ptrace's FOLL_FORCE read).
            if (!Pte.MapsPage(pte) || (!Pte.IsPresent(pte) && (vma.Flags & VmFlags.AccessMask) != 0)) return Follow.Absent;
            if ((pte & Pte.Special) != 0) return Follow.NoStructPage;
            page = new Page(Pte.Pfn(pte));
            bool write = (flags & Foll.Write) != 0;
            if (write && !CanFollowWrite(mem, pte, page, vma, flags)) return Follow.Absent;
            if ((flags & (Foll.Get | Foll.Pin)) != 0)
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
        finally { gate.Exit(token); }
    }

    // can_follow_write_pte: a read-only entry satisfies a write only after FOLL_FORCE broke COW in a
    // private area that may not be written: the entry then maps this mapping's own anonymous copy
    // (exclusive, as the model has no fork).
    private static bool CanFollowWrite(PhysicalMemory mem, ulong pte, Page page, Vma vma, Foll flags)
    {
        if ((pte & Pte.Write) != 0) return true;
        if ((flags & Foll.Force) == 0) return false;
        if ((pte & Pte.ZeroStandIn) != 0) return false; // the zero page is never written: break COW first
        if ((vma.Flags & (VmFlags.MayShare | VmFlags.Shared | VmFlags.Write)) != 0) return false;
        if ((vma.Flags & VmFlags.MayWrite) == 0) return false;
        return (mem.Flags(page) & PageFlags.Anon) != 0;
    }

    // faultin_page: FOLL_NOFAULT refuses; otherwise handle_mm_fault for a read or a write. The model's
    // faults never sleep on I/O, so FOLL_NOWAIT and the retry protocol never come into play.
    private static int FaultInPage(AddressSpace mm, Vma vma, ulong addr, Foll flags, ref long faults)
    {
        if ((flags & Foll.NoFault) != 0) return -Errno.EFAULT;
        faults++;
        return mm.HandleMmFault(vma, addr, (flags & Foll.Write) != 0);
    }
}
