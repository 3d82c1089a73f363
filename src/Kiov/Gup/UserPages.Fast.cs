using Kiov.Concurrency;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Uaccess;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Gup;

public static unsafe partial class UserPages
{
    private const ulong PmdSize = 1UL << 21;

    /// <summary>
    /// Test hook of the lockless walk, run inside the walker gate at each <see cref="GupFastStep"/> with
    /// the address being walked; null in production (one null check per step). A hook must never block
    /// on anything that waits for the gate (a writer's Synchronize waits for the walker to leave).
    /// </summary>
    internal static Action<GupFastStep, ulong>? FastStepHook;

    /// <summary>
    /// <c>gup_fast_fallback</c> (and its ancestors): validates the range as the modelled kernel's
    /// <see cref="GupFastEntry"/> does, walks it without a lock, and hands the rest to the slow path
    /// (unless FOLL_FAST_ONLY). The slow path's VMA lookup is what rejects a kernel address wherever
    /// the fast side let it through to a walk that found nothing.
    /// </summary>
    private static int FastFallback(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages)
    {
        VmCounters counters = mm.Kernel.Counters;
        if ((flags & ~FastAllowed) != 0) { counters.AddRefused(); return -Errno.EINVAL; }
        bool pin = (flags & Foll.Pin) != 0;
        if (pin && !mm.HasPinned) mm.HasPinned = true;
        KernelConfig config = mm.Kernel.Config;
        start &= PageMask;
        ulong len = (ulong)(long)nrPages << PageShift;
        ulong end = start + len;
        bool fastOnly = (flags & Foll.FastOnly) != 0;
        int got = 0;
        switch (config.GupFastEntry)
        {
            case GupFastEntry.TaskSizeMax: // 6.4 on: check_add_overflow, then end > TASK_SIZE_MAX
                if (end < start) { counters.AddRefused(); return -Errno.EOVERFLOW; }
                if (end > Layout.TaskSizeMax) { counters.AddRefused(); return -Errno.EFAULT; }
                got = FastWalkUnlessForking(mm, start, end, flags, pages);
                break;
            case GupFastEntry.AccessOkEfault: // 5.10 internal_get_user_pages_fast
                if (end <= start) { counters.AddRefused(); return 0; }
                // get_user_pages_fast_only / pin_user_pages_fast_only turn the -EFAULT into 0 (5.10).
                if (!UserAccess.AccessOk(config, start, len)) { counters.AddRefused(); return fastOnly ? 0 : -Errno.EFAULT; }
                if (FastPermitted(config, start, end)) got = FastWalkUnlessForking(mm, start, end, flags, pages);
                break;
            case GupFastEntry.AccessOkReturnsZero: // 4.15 get_user_pages_fast (5b65c4677a57)
                if (nrPages <= 0) return 0;
                if (!UserAccess.AccessOk(config, start, len)) { counters.AddRefused(); return 0; }
                if (FastPermitted(config, start, end)) got = FastWalkUnlessForking(mm, start, end, flags, pages);
                break;
            case GupFastEntry.AccessOkThenSlowPath: // generic 4.10: __get_user_pages_fast, then the slow path
                if (nrPages <= 0) return 0;
                if (UserAccess.AccessOk(config, start, len)) got = FastWalkUnlessForking(mm, start, end, flags, pages);
                break;
            default: // x86-64 4.10 arch/x86/mm/gup.c
                if (nrPages <= 0) return 0;
                // __get_user_pages_fast checks access_ok; get_user_pages_fast only the wrap and 2^47.
                bool walk = fastOnly ? UserAccess.AccessOk(config, start, len) : FastPermitted(config, start, end);
                if (walk) got = FastWalkUnlessForking(mm, start, end, flags, pages);
                break;
        }

        if (got == nrPages || fastOnly)
        {
            counters.AddFastHit(got, pin);
            return got;
        }
        counters.AddFallback(got, pin);
        long slow = SlowUnlocked(mm, start + ((ulong)got << PageShift), nrPages - got, flags | Foll.Touch | Foll.Unlockable, pages[got..]);
        if (slow < 0) return got > 0 ? got : (int)slow;
        return got + (int)slow;
    }

    // gup_fast_permitted: x86-64's refuses a wrap and any end above 2^47 (end >> __VIRTUAL_MASK_SHIFT);
    // the generic one (ARM, arm64) allows every range.
    private static bool FastPermitted(KernelConfig config, ulong start, ulong end) =>
        config.Arch != Architecture.X86_64 || (end >= start && (end >> VirtualMaskShift) == 0);

    private const int VirtualMaskShift = 47;

    // What one user table root spans: on a separate-kernel-root architecture, pgd_offset(mm, addr)
    // keeps only the index bits, so a kernel address names the user address with the same bits.
    private const ulong UserRootSpanMask = (1UL << 47) - 1;

    /// <summary>
    /// <c>gup_fast</c>'s guard against fork: a FOLL_PIN walk reads <c>mm-&gt;write_protect_seq</c> first
    /// and walks nothing while a fork is write-protecting (odd); if the count moved by the end, a
    /// fork may have shared a page after it was pinned here, so every pin is dropped and the slow path,
    /// which fork excludes by the mmap lock, does the work.
    /// </summary>
    private static int FastWalkUnlessForking(AddressSpace mm, ulong start, ulong end, Foll flags, Span<Page> pages)
    {
        if ((flags & Foll.Pin) == 0) return FastWalk(mm, start, end, flags, pages);
        int seq = mm.WriteProtectSeq;
        if ((seq & 1) != 0) return 0;
        int got = FastWalk(mm, start, end, flags, pages);
        ForkRaceHook?.Invoke(mm, start);
        if (got == 0 || mm.WriteProtectSeq == seq) return got;
        for (int i = 0; i < got; i++) Ungrab(mm.Memory, pages[i], flags);
        return 0;
    }

    /// <summary>Test hook run by a FOLL_PIN GUP-fast after its walk and before it re-reads the
    /// write-protect sequence: where a fork can race it. Null in production.</summary>
    internal static Action<AddressSpace, ulong>? ForkRaceHook;

    /// <summary>
    /// <c>gup_fast</c>: inside the gate (the kernel's IRQs-off section), walk [start, end) one page
    /// table at a time with a <see cref="PageTableCursor"/>, reading each entry once, and stop at the first that is absent, PROT_NONE, not
    /// writable for a write, supervisor-only (when the user bit is checked) or special; take a
    /// speculative reference or pin, then re-read the entry (and its PMD) and give the page back if
    /// either changed. Returns the pages obtained, each in <paramref name="pages"/>.
    /// </summary>
    private static int FastWalk(AddressSpace mm, ulong start, ulong end, Foll flags, Span<Page> pages)
    {
        KernelConfig config = mm.Kernel.Config;
        if (!config.KernelSharesUserRoot)
        {
            // arm64: the kernel's tables are another root; the index bits of a kernel address pick a
            // user slot of current->mm's table. For a user address this changes nothing.
            ulong len = end - start;
            start &= UserRootSpanMask;
            end = start + len;
        }
        PhysicalMemory mem = mm.Memory;
        Action<GupFastStep, ulong>? hook = FastStepHook;
        ulong need = Pte.Present | ((flags & Foll.Write) != 0 ? Pte.Write : 0) | (config.GupFastChecksUserBit ? Pte.User : 0);
        int nr = 0, kernelPages = 0;
        WalkerGate gate = mm.Kernel.Gate;
        int token = gate.Enter();
        try
        {
            var cursor = new PageTableCursor(mem, mm.Pgd, CursorGuard.WalkerGate, gate);
            ulong addr = start;
            while (addr < end)
            {
                ulong* pmdp = cursor.FindPmd(addr);
                if (pmdp == null) break;
                ulong pmd = Pte.Read(pmdp);
                if ((pmd & Pte.Present) == 0) break;
                ulong next = (addr & ~(PmdSize - 1)) + PmdSize;
                ulong stop = next == 0 || next > end ? end : next;
                bool leaf = (pmd & Pte.Huge) != 0;
                if (leaf && config.Arch == Architecture.ArmLpae)
                {
                    // 4.10 generic gup_huge_pmd on an LPAE section: every reference on the block's head.
                    int taken = GrabSectionOnHead(mem, pmdp, pmd, addr, stop, flags, pages[nr..]);
                    if (taken == 0) goto done;
                    if ((pmd & Pte.User) == 0) kernelPages += taken;
                    nr += taken;
                    addr = stop;
                    continue;
                }
                // A 2 MiB leaf (the kernel's direct map) is one entry for 512 pages; a table has one per page.
                ulong* ptep = leaf ? pmdp : cursor.EnterTable(addr, pmdp, pmd);
                for (; addr < stop; addr += PageSize, ptep += leaf ? 0 : 1)
                {
                    ulong entry = Pte.Read(ptep);
                    if ((entry & need) != need || (entry & Pte.Special) != 0) goto done;
                    hook?.Invoke(GupFastStep.AfterEntryRead, addr);
                    Page page = new(Pte.Pfn(entry) + (leaf ? PageTables.Index(addr, 0) : 0));
                    if (!TryGrab(mem, page, flags)) goto done;
                    hook?.Invoke(GupFastStep.AfterSpeculativeRef, addr);
                    if (RaceFixes.On(RaceFix.GupFastRecheck) && (Pte.Read(ptep) != entry || Pte.Read(pmdp) != pmd))
                    {
                        Ungrab(mem, page, flags);
                        goto done;
                    }
                    if ((entry & Pte.Write) == 0 && MustUnshare(mm.Kernel.Config, mem, null, flags, page))
                    {
                        Ungrab(mem, page, flags);  // a shared anonymous page: the slow path unshares it
                        goto done;
                    }
                    hook?.Invoke(GupFastStep.AfterRecheck, addr);
                    if ((entry & Pte.User) == 0) kernelPages++;
                    pages[nr++] = page;
                }
            }
        done:;
        }
        finally { gate.Exit(token); }
        if (kernelPages != 0) mm.Kernel.Counters.AddKernelPages(kernelPages);
        return nr;
    }

    // gup_huge_pmd as the 4.10 generic walk had it: a write needs a writable block; the pages of
    // [addr, stop) are handed back, but page_cache_add_speculative puts all their references on the
    // block's first page (pmd_page), a compound head for a THP, an ordinary page for a kernel section;
    // then the PMD is re-read. Returns the pages taken, 0 if none.
    private static int GrabSectionOnHead(PhysicalMemory mem, ulong* pmdp, ulong pmd, ulong addr, ulong stop, Foll flags, Span<Page> pages)
    {
        if ((flags & Foll.Write) != 0 && (pmd & Pte.Write) == 0) return 0;
        Page head = new(Pte.Pfn(pmd));
        int refs = (int)((stop - addr) >> PageShift);
        int first = PageTables.Index(addr, 0);
        for (int i = 0; i < refs; i++)
        {
            if (TryGrab(mem, head, flags)) continue;
            for (int j = 0; j < i; j++) Ungrab(mem, head, flags);
            return 0;
        }
        if (Pte.Read(pmdp) != pmd)
        {
            for (int j = 0; j < refs; j++) Ungrab(mem, head, flags);
            return 0;
        }
        for (int i = 0; i < refs; i++) pages[i] = head.Nth(first + i);
        return refs;
    }
}
